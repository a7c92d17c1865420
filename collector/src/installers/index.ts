/**
 * The installers concern owns what the collector serves at /install/: the agent executables and packages listed in
 * an installers directory's manifest.json, and the per-source download budget. It holds no table and no secret; it
 * must never serve a name the manifest does not list, nor a file whose hash differs from the listed one. The
 * one-liners that fetch these files are printed by the CLI (`outpost installers create`, cli/installers.ts).
 */
import { createRequire } from 'node:module';
import { defaultInstallerDirs, InstallerDirectory, pickInstallerDir } from './manifest.js';

export {
  defaultInstallerDirs,
  InstallerDirectory,
  type InstallerManifest,
  type ManifestEntry,
  pickInstallerDir,
} from './manifest.js';
export { installersRoutes, SHA256_HEADER } from './routes.js';
export { DownloadThrottle } from './throttle.js';

/** True inside the packaged single executable (`node:sea` says so). */
export function isSingleExecutable(): boolean {
  try {
    return (createRequire(import.meta.url)('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    return false;
  }
}

/** The installers directory from the setting, else the default places (see `defaultInstallerDirs`). */
export function installerDirectory(dir: string | undefined): InstallerDirectory {
  return new InstallerDirectory(dir ?? pickInstallerDir(defaultInstallerDirs(isSingleExecutable())));
}
export { certificatePins, installerLinesRoutes } from './oneliners-route.js';
