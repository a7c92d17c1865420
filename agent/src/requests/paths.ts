/**
 * Where the agent's local request channel lives (docs/0014-requests.md). Its own light module: the CLI's
 * `request` command needs it, and cli.ts must stay free of heavy imports (docs/0009-packaging.md, "Footprint").
 */
import { join } from 'node:path';

/** The channel an installed (root) agent serves on Linux and macOS: a directory every user can reach, not list. */
export const SYSTEM_REQUEST_DIR = '/run/outpost-agent';

/**
 * The directory holding the socket and the proof directory: OUTPOST_AGENT_REQUEST_DIR, else the system one for an
 * agent running as root, else the agent's state directory (a developer's or a test's agent).
 */
export function requestDir(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.OUTPOST_AGENT_REQUEST_DIR) return env.OUTPOST_AGENT_REQUEST_DIR;
  return process.getuid?.() === 0 ? SYSTEM_REQUEST_DIR : stateDir;
}

/** The socket and the proof directory inside `dir`. */
export const channelPaths = (dir: string) => ({
  socket: join(dir, 'request.sock'),
  proofs: join(dir, 'request-proofs'),
});
