/**
 * Stands in for @lydell/node-pty's `requireBinary.js` inside the single executable (the esbuild plugin in
 * build.ts redirects it here): the addon comes from the executable's assets, extracted and verified by
 * agent/src/runtime/native.ts. The returned object loads the addon on first use, so `--version`, `enroll` and an
 * agent that never opens a shell extract nothing, and an addon that cannot load fails only the shell.
 */
import { loadNativeAddon, nativeAssetPath } from '../../agent/dist/runtime/native.js';

export function requireBinary(file) {
  let addon;
  const get = () => {
    addon ??= loadNativeAddon(file);
    return addon;
  };
  return new Proxy({}, { get: (_t, key) => get()[key], has: (_t, key) => key in get() });
}

/** macOS: node-pty execs its `spawn-helper` by path; it travels as an asset too. */
export function spawnHelperPath() {
  return nativeAssetPath('spawn-helper', 0o500);
}

/** Windows: the argument that makes the executable act as node-pty's console-list helper (see sea-main.mjs). */
export { CONPTY_LIST_ARG } from './conpty-arg.mjs';

/**
 * Windows: node-pty's conout worker, inline (a Worker cannot start from a file that is not there). The source of
 * node-pty's worker/conoutSocketWorker.js with its one local import (shared/conout.js) written out.
 */
export const CONOUT_WORKER_SOURCE = `
const { workerData, parentPort } = require('worker_threads');
const net = require('net');
const conoutPipeName = workerData.conoutPipeName;
const conoutSocket = new net.Socket();
conoutSocket.setEncoding('utf8');
conoutSocket.connect(conoutPipeName, () => {
  const server = net.createServer((workerSocket) => conoutSocket.pipe(workerSocket));
  server.listen(conoutPipeName + '-worker');
  if (!parentPort) throw new Error('worker_threads parentPort is null');
  parentPort.postMessage(1);
});
`;
