/**
 * Stages a verified release into the install root: download into `versions/<v>.partial/`, check the signed length
 * and hash, make it executable, fsync, rename to `versions/<v>/`, then run `<new> --version` (5 s) which must print
 * exactly the version. Nothing here touches the pointer or a running file.
 */
import { type ExecFileException, execFile } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  createReadStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { executableName, OutpostError } from '@outpost/shared';
import type { TargetFile } from 'tuf-js';
import type { CollectorFetcher } from './fetch.js';
import { versionDir, versionExecutable } from './layout.js';
import { syncDir } from './state.js';

/** The pre-flight's time limit (Kolide's number). */
export const PREFLIGHT_TIMEOUT_MS = 5000;

/** Checks a file against the target's signed length and hashes. */
async function matchesTarget(target: TargetFile, file: string): Promise<boolean> {
  try {
    await target.verify(createReadStream(file));
    return true;
  } catch {
    // Length or hash mismatch (or unreadable): the caller says which refusal that is.
    return false;
  }
}

/**
 * Puts the executable of `version` in place and returns its path. An already staged copy is reused when it still
 * matches the signed hash (a version kept from before); a copy that does not is replaced.
 */
export async function stageRelease(opts: {
  root: string;
  version: string;
  platform: string;
  target: TargetFile;
  fetcher: CollectorFetcher;
}): Promise<string> {
  const { root, version, platform, target, fetcher } = opts;
  const exe = versionExecutable(root, version, platform);
  if (existsSync(exe) && (await matchesTarget(target, exe))) return exe;
  const partial = `${versionDir(root, version)}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true, mode: 0o755 });
  const staged = join(partial, executableName(platform));
  const url = new URL(target.path.split('/').map(encodeURIComponent).join('/'), fetcher.targetBaseUrl).toString();
  try {
    await fetcher.download(url, target.length, staged);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    const name = (err as Error)?.constructor?.name ?? '';
    throw new OutpostError(
      name.startsWith('DownloadLengthMismatchError') ? 'OUTPOST_E_UPDATE_TAMPERED' : 'OUTPOST_E_UPDATE_FETCH',
      {
        cause: err,
        message: `Downloading ${version}: ${(err as Error).message}`.slice(0, 500),
      },
    );
  }
  if (!(await matchesTarget(target, staged))) {
    rmSync(partial, { recursive: true, force: true });
    throw new OutpostError('OUTPOST_E_UPDATE_TAMPERED', {
      message: `The executable of ${version} served by the collector does not match its signed length and SHA-256`,
      details: { version, path: target.path },
    });
  }
  chmodSync(staged, 0o755);
  const fd = openSync(staged, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(versionDir(root, version), { recursive: true, force: true });
  renameSync(partial, versionDir(root, version));
  syncDir(join(root, 'versions'));
  return exe;
}

/** Runs `<exe> --version` with a 5 s limit; refuses unless it prints exactly `version`. */
export async function preflight(exe: string, version: string, timeoutMs = PREFLIGHT_TIMEOUT_MS): Promise<void> {
  const run = () =>
    new Promise<{ out: string; err: ExecFileException | null }>((resolve) => {
      execFile(
        exe,
        ['--version'],
        // `--version` is answered by the CLI parser before any configuration, state or network is touched.
        { timeout: timeoutMs, maxBuffer: 64 * 1024 },
        (err, stdout) => resolve({ out: String(stdout), err }),
      );
    });
  let r = await run();
  // A file just written may still be open for writing elsewhere for an instant (Kolide retries ETXTBSY).
  if (r.err?.code === 'ETXTBSY') r = await run();
  if (r.err || r.out.trim() !== version) {
    throw new OutpostError('OUTPOST_E_UPDATE_PREFLIGHT', {
      message:
        `\`${version}/outpost-agent --version\` ${r.err ? `failed: ${r.err.message}` : `printed "${r.out.trim().slice(0, 100)}"`}`.slice(
          0,
          500,
        ),
      details: { version, output: r.out.slice(0, 200) },
    });
  }
}
