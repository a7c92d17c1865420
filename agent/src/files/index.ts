/**
 * The files concern owns file transfers on the agent: path confinement to the configured roots and streamed,
 * resumable, hashed transfers over channels. It must never touch a path that `confinePath` has not accepted.
 */

export { checkPathForm, confinePath } from './paths.js';
export { DEFAULT_FILE_MAX_BYTES, fileOpenHandler } from './service.js';
export { FileChannel, sha256File } from './transfer.js';
