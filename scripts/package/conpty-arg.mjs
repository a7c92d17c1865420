/** Windows: the argument that makes the executable act as node-pty's console-list helper (see sea-main.mjs). */
export const CONPTY_LIST_ARG = '--outpost-conpty-console-list';
