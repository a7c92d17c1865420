/**
 * The requests concern of the agent owns the local request channel (docs/0014-requests.md): a user on this machine
 * files a request or asks for the status of their own, proved by the OS, never by what they claim. It must never let
 * a local user do anything else through the channel (no command, no file, no configuration), nor trust the caller's
 * word about who they are.
 */
export { RequestsComponent, type RequestsOptions } from './component.js';
export { RequestLedger } from './ledger.js';
export { channelPaths, requestDir, SYSTEM_REQUEST_DIR } from './paths.js';
export { createProof, newProofName, prepareProofDir, verifyProof } from './proof.js';
export { takeSnapshot } from './snapshot.js';
