/**
 * `outpost-agent uninstall [--purge]`: stops and unregisters the service and removes the executables and the
 * pointer. Without --purge the configuration and state (identity, outbox) stay, so a later install is the same
 * agent; with it, they go too, with the native addon cache. Running it again removes nothing and succeeds.
 */
import { existsSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { installTarget, serviceControl } from './install.js';
import { takeInstallLock } from './lock.js';

/** What uninstall needs. */
export interface UninstallOptions {
  purge?: boolean;
  root?: string;
  platform?: NodeJS.Platform;
  logger: Logger;
}

/** The paths removed; empty when nothing was installed. */
export interface UninstallResult {
  removed: string[];
}

/** Removes the agent service (see the file comment). */
export async function uninstall(opts: UninstallOptions): Promise<UninstallResult> {
  const { layout, plan } = installTarget(opts.root ?? '/', opts.platform ?? process.platform);
  const log = opts.logger.child({ concern: 'install' });
  const release = takeInstallLock(layout.lockFile);
  try {
    const removed: string[] = [];
    const rm = (path: string) => {
      if (!existsSync(path)) return;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    };
    const service = serviceControl(plan, layout, log);
    const hadDefinition = existsSync(layout.serviceFile);
    // Always asked (its failure is expected when nothing is loaded): a crashed uninstall may have left it running.
    await service.remove();
    rm(layout.serviceFile);
    if (hadDefinition) await service.afterRemove();
    rm(layout.installDir);
    if (opts.purge) {
      rm(layout.configDir);
      rm(layout.stateDir);
      rm(layout.cacheDir);
    }
    log.info({ removed, purge: opts.purge ?? false }, 'uninstall complete');
    return { removed };
  } finally {
    release();
  }
}
