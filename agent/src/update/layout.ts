/**
 * The install layout shared with the agent installer (docs/0011-releases.md): every version in its own
 * directory, and a pointer the service starts through. No file that is running is ever written or deleted:
 *   <root>/versions/<version>/outpost-agent[.exe]
 *   <root>/current -> versions/<version>     (POSIX: a symlink, swapped with rename(2), atomic)
 *   <root>/current.json {"version": "…"}      (Windows: read by the native service host; written atomically)
 * The root is a parameter everywhere, so tests use a temp directory.
 */
import { existsSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { compareReleaseVersions, executableName, isReleaseVersion } from '@outpost/shared';
import { readJson, syncDir, writeJsonDurably } from './state.js';

const windows = process.platform === 'win32';

/** The directory of one version. */
export const versionDir = (root: string, version: string) => join(root, 'versions', version);
/** The executable of one version on this platform. */
export const versionExecutable = (root: string, version: string, platform: string) =>
  join(versionDir(root, version), executableName(platform));

/** The install root an executable sits in (`<root>/versions/<v>/outpost-agent`), or undefined outside that layout. */
export function installRootOf(executable: string): string | undefined {
  const versions = dirname(dirname(executable));
  return basename(versions) === 'versions' && isReleaseVersion(basename(dirname(executable)))
    ? dirname(versions)
    : undefined;
}

/** The version the pointer names, or undefined when there is no pointer yet. */
export function currentVersion(root: string): string | undefined {
  if (windows) return readJson<{ version: string }>(join(root, 'current.json'))?.version;
  try {
    return basename(readlinkSync(join(root, 'current')));
  } catch {
    // No pointer (a fresh root): the caller decides what that means.
    return undefined;
  }
}

/** Points `current` at a version atomically: a new symlink beside it renamed over it (never a moment without one). */
export function flipPointer(root: string, version: string): void {
  if (!existsSync(versionDir(root, version))) throw new Error(`${versionDir(root, version)} does not exist`);
  if (windows) {
    writeJsonDurably(join(root, 'current.json'), { version });
    return;
  }
  const tmp = join(root, `.current.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(join('versions', version), tmp);
  renameSync(tmp, join(root, 'current'));
  syncDir(root);
}

/**
 * Keeps the `keep` newest versions plus every protected one (the pointer's always; the caller adds the running
 * one and an update's from/to), and removes staging leftovers (`*.partial`). Returns what it removed.
 */
export function pruneVersions(root: string, protect: (string | undefined)[], keep = 3): string[] {
  const dir = join(root, 'versions');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const keepSet = new Set([...protect, currentVersion(root)].filter((v): v is string => v !== undefined));
  const versions = names.filter(isReleaseVersion).sort((a, b) => compareReleaseVersions(b, a));
  for (const v of versions.slice(keep)) {
    if (keepSet.has(v)) continue;
    rmSync(join(dir, v), { recursive: true, force: true });
    removed.push(v);
  }
  for (const n of names.filter((n) => n.endsWith('.partial') && !keepSet.has(n.slice(0, -'.partial'.length)))) {
    rmSync(join(dir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}
