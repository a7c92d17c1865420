/** What jobs need to know about the machine: its platform and package manager, found once at start. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { AgentConfig } from '../config/index.js';
import type { Host, Manager } from './plans.js';

/** True when `cmd` is an executable file on PATH. */
export function onPath(cmd: string, path = process.env.PATH ?? ''): boolean {
  return path.split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The host as plans see it. */
export function detectHost(config: Pick<AgentConfig, 'packages'>, platform = process.platform): Host {
  let manager: Manager | undefined;
  if (platform === 'win32') manager = 'wua';
  else if (platform === 'darwin') manager = 'softwareupdate';
  else manager = (['apt-get', 'dnf', 'zypper'] as const).find((m) => onPath(m))?.replace('-get', '') as Manager;
  return {
    platform,
    manager,
    aptOptions: config.packages?.aptOptions ?? [],
    rootDir: config.packages?.rootDir ?? '/',
  };
}
