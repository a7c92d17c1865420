/** `outpost-agent update-watch`: the watcher the old version starts to roll an update back (docs/0011-releases.md). */
import { createLogger } from '../log.js';
import { watchUpdate } from '../update/index.js';
import type { CliGlobals } from './globals.js';

/** Watches the update in flight under `stateDir` and logs how it ended; exit code 1 when the watch failed. */
export async function updateWatchCommand(o: { stateDir: string }, g: CliGlobals): Promise<void> {
  const logger = createLogger(g.logLevel ?? 'info').child({ component: 'update-watch', pid: process.pid });
  try {
    const result = await watchUpdate(o.stateDir, { log: (msg, data) => logger.info(data ?? {}, msg) });
    logger.info({ result }, 'watch ended');
  } catch (err) {
    logger.error({ err }, 'watch failed');
    process.exitCode = 1;
  }
}
