/**
 * The executable install copies: this process's own when it runs as the packaged single executable, else the one
 * named by `--executable` (a Node checkout has no executable of its own to copy). Its version is what it prints for
 * `--version`, and the copy is checked the same way before the pointer moves to it (notes/updates.md §1.5, pre-flight).
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { isSingleExecutable } from '../runtime/native.js';
import { AGENT_VERSION } from '../version.js';
import { fsyncPath, sha256File } from './files.js';
import { EXECUTABLE_NAME, type InstallLayout, versionPaths } from './layout.js';
import { isVersion } from './version.js';

/** The executable to install and its version. */
export interface SourceExecutable {
  path: string;
  version: string;
}

/** Runs `file --version` (5 s at most, as a pre-flight check) and returns what it printed, or throws with why. */
export function versionOf(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      ['--version'],
      { timeout: 5_000, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`\`${file} --version\` failed: ${(stderr || err.message).trim().slice(0, 300)}`));
          return;
        }
        const v = stdout.trim();
        if (!isVersion(v)) reject(new Error(`\`${file} --version\` printed "${v.slice(0, 60)}", not a version`));
        else resolve(v);
      },
    );
  });
}

/** Resolves the executable to install: `--executable PATH`, else this single executable itself. */
export async function sourceExecutable(explicit: string | undefined): Promise<SourceExecutable> {
  if (explicit === undefined) {
    if (!isSingleExecutable()) {
      throw new OutpostError('OUTPOST_E_INSTALL_ARGUMENTS', {
        message:
          'This outpost-agent runs from a Node checkout, which cannot be installed as a service: run `install` from the packaged executable (`pnpm package`), or name it with --executable PATH',
      });
    }
    return { path: process.execPath, version: AGENT_VERSION };
  }
  let isFile = false;
  try {
    isFile = statSync(explicit).isFile();
  } catch {
    // reported below
  }
  if (!isFile) {
    throw new OutpostError('OUTPOST_E_INSTALL_ARGUMENTS', {
      message: `--executable ${explicit} is not a file`,
      details: { file: explicit },
    });
  }
  try {
    return { path: explicit, version: await versionOf(explicit) };
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_INSTALL_ARGUMENTS', {
      cause,
      message: `--executable ${explicit} is not an outpost-agent executable that runs here: ${(cause as Error).message}`,
      details: { file: explicit },
    });
  }
}

/** Removes what an interrupted install left in the versions directory (we hold the install lock: none is live). */
export function removeLeftovers(layout: InstallLayout): void {
  if (!existsSync(layout.versionsDir)) return;
  for (const name of readdirSync(layout.versionsDir)) {
    if (name.startsWith('.')) rmSync(join(layout.versionsDir, name), { recursive: true, force: true });
  }
}

/**
 * Makes `versions/<version>/outpost-agent` a checked copy of the source. Returns false when an identical copy is
 * there already. A version directory is never rewritten in place: a different file of the same version (a rebuilt
 * executable) replaces it only with `force`, by renaming a fresh directory over it, so a running agent keeps its inode.
 */
export async function stageVersion(layout: InstallLayout, source: SourceExecutable, force: boolean): Promise<boolean> {
  const { dir, executable } = versionPaths(layout, source.version);
  const wanted = sha256File(source.path);
  if (existsSync(executable)) {
    if (sha256File(executable) === wanted) return false;
    if (!force) {
      throw new OutpostError('OUTPOST_E_INSTALL_FAILED', {
        message: `${executable} holds another build of version ${source.version} than ${source.path}; pass --force to replace it`,
        details: { file: executable },
      });
    }
  }
  mkdirSync(layout.versionsDir, { recursive: true, mode: 0o755 });
  const partial = join(layout.versionsDir, `.${source.version}.partial-${process.pid}`);
  const staged = join(partial, EXECUTABLE_NAME);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { mode: 0o755 });
  try {
    copyFileSync(source.path, staged);
    chmodSync(staged, 0o755);
    fsyncPath(staged);
    if (sha256File(staged) !== wanted) throw new Error(`the copy ${staged} differs from ${source.path}`);
    const printed = await versionOf(staged);
    if (printed !== source.version) throw new Error(`${staged} reports version ${printed}, not ${source.version}`);
    if (existsSync(dir)) {
      const old = join(layout.versionsDir, `.${source.version}.old-${process.pid}`);
      renameSync(dir, old);
      renameSync(partial, dir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(partial, dir);
    }
    fsyncPath(layout.versionsDir);
  } catch (cause) {
    rmSync(partial, { recursive: true, force: true });
    throw new OutpostError('OUTPOST_E_INSTALL_FAILED', {
      cause,
      message: `Cannot stage version ${source.version} in ${dir}: ${(cause as Error).message}`,
      details: { dir },
    });
  }
  return true;
}
