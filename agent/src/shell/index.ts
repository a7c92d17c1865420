/**
 * The shell concern owns remote shell sessions on the agent: ticket checks, PTYs, the channel hub for binary
 * frames, and killing each session's whole process tree. It must never open a PTY without an admitted ticket.
 */
export { type Channel, ChannelHub } from './hub.js';
export { killSessionTree, readProcTable, sessionTree } from './process-tree.js';
export { PtyChannel } from './pty-channel.js';
export { ShellService, shellCommand } from './service.js';
export { TicketGuard } from './tickets.js';
export { lookupUser, resolveShellUser } from './user.js';
