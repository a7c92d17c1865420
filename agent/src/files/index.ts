/**
 * The files concern owns file transfers on the agent: path confinement to the configured roots, a race-free open
 * (no link followed below a root) and streamed, resumable, hashed transfers over channels on that one handle. It must
 * never open a transfer's file by name twice, nor touch a path that `openConfined` has not opened.
 */

export { type OpenMode, openConfined } from './open.js';
export { checkPathForm, matchRoot } from './paths.js';
export { DEFAULT_FILE_MAX_BYTES, fileOpenHandler } from './service.js';
export { FileChannel, sha256Handle } from './transfer.js';
