/**
 * Where an installed agent lives, per platform: the versioned executables and the `current` pointer that
 * self-update swaps (notes/updates.md §1.4), the configuration, the state, the native addon cache and the service
 * definition. `root` prefixes every path for tests and image staging (`--root DIR`); the service definition itself
 * always names the real paths, since it is read by the service manager of the machine it ends up on.
 */
import { join, posix } from 'node:path';

/** The paths of one installation. */
export interface InstallLayout {
  /** The prefix every path below starts with ('/' for a real install). */
  root: string;
  /** `<installDir>/versions/<version>/outpost-agent` and `<installDir>/current` → `versions/<version>`. */
  installDir: string;
  versionsDir: string;
  currentLink: string;
  /** The agent configuration (identity and collector); its directory is 0700. */
  configFile: string;
  configDir: string;
  /** The release root self-update trusts (install --update-root), beside the configuration, and its real path. */
  updateRootFile: string;
  targetUpdateRootFile: string;
  /** Key, outbox, status file. */
  stateDir: string;
  /** The native addon cache's parent (runtime/native.ts extracts into `<cacheDir>/native`). */
  cacheDir: string;
  /** The systemd unit or launchd plist. */
  serviceFile: string;
  /** Held for the whole of an install or uninstall. */
  lockFile: string;
  /** The executable's path as the service manager starts it, and the install directory, without the root prefix. */
  execStart: string;
  targetInstallDir: string;
}

/** The executable's file name inside a version directory. */
export const EXECUTABLE_NAME = 'outpost-agent';
/** The release root's file name, beside the configuration. */
export const UPDATE_ROOT_NAME = 'update-root.json';
/** The systemd unit's name. */
export const SYSTEMD_UNIT = 'outpost-agent.service';
/** The launchd label (reverse DNS, as launchd wants). */
export const LAUNCHD_LABEL = 'net.outpost.agent';

interface PlatformPaths {
  installDir: string;
  configFile: string;
  stateDir: string;
  cacheDir: string;
  serviceFile: string;
  lockFile: string;
}

/**
 * Linux: the FHS places (/opt for the add-on package, /etc, /var/lib, /var/cache); /run is emptied at boot, so a
 * lock left by a crash disappears with it. macOS: /usr/local exists on every Mac and is outside System Integrity
 * Protection; configuration and state stay where `outpost-agent enroll` as root already puts them.
 */
const PLATFORM_PATHS: Partial<Record<NodeJS.Platform, PlatformPaths>> = {
  linux: {
    installDir: '/opt/outpost',
    configFile: '/etc/outpost/agent.json',
    stateDir: '/var/lib/outpost',
    cacheDir: '/var/cache/outpost',
    serviceFile: `/etc/systemd/system/${SYSTEMD_UNIT}`,
    lockFile: '/run/outpost-agent-install.lock',
  },
  darwin: {
    installDir: '/usr/local/outpost',
    configFile: '/Library/Application Support/Outpost/agent.json',
    stateDir: '/Library/Application Support/Outpost/state',
    cacheDir: '/Library/Caches/Outpost',
    serviceFile: `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`,
    lockFile: '/var/run/outpost-agent-install.lock',
  },
};

/** The layout of `platform` under `root`, or undefined where install registers no service (Windows, others). */
export function installLayout(root = '/', platform: NodeJS.Platform = process.platform): InstallLayout | undefined {
  const p = PLATFORM_PATHS[platform];
  if (!p) return undefined;
  const at = (path: string) => join(root, path);
  return {
    root,
    installDir: at(p.installDir),
    versionsDir: at(posix.join(p.installDir, 'versions')),
    currentLink: at(posix.join(p.installDir, 'current')),
    configFile: at(p.configFile),
    configDir: at(posix.dirname(p.configFile)),
    updateRootFile: at(posix.join(posix.dirname(p.configFile), UPDATE_ROOT_NAME)),
    targetUpdateRootFile: posix.join(posix.dirname(p.configFile), UPDATE_ROOT_NAME),
    stateDir: at(p.stateDir),
    cacheDir: at(p.cacheDir),
    serviceFile: at(p.serviceFile),
    lockFile: at(p.lockFile),
    execStart: posix.join(p.installDir, 'current', EXECUTABLE_NAME),
    targetInstallDir: p.installDir,
  };
}

/** The directory of one version, and its executable. */
export function versionPaths(layout: InstallLayout, version: string): { dir: string; executable: string } {
  const dir = join(layout.versionsDir, version);
  return { dir, executable: join(dir, EXECUTABLE_NAME) };
}
