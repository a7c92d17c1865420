/**
 * The installers directory: a manifest.json written by `pnpm package` (and the package builds) listing files with
 * their SHA-256. Only names listed there are ever served, each a plain file directly inside the directory; the file's
 * hash is checked against the manifest once per change (size, mtime, inode) before it is served.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  fstatSync,
  openSync,
  type ReadStream,
  readFileSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutpostError } from '@outpost/shared';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { InstallerManifest, type ManifestEntry } from './api.js';

export { INSTALLER_NAME, InstallerManifest, ManifestEntry } from './api.js';

const checkManifest = TypeCompiler.Compile(InstallerManifest);

const unavailable = (dir: string, reason: string, cause?: unknown) =>
  new OutpostError('OUTPOST_E_INSTALLER_UNAVAILABLE', { details: { dir, reason }, ...(cause ? { cause } : {}) });

/**
 * Where installers are looked for when `installers.dir` is not set: beside a packaged executable
 * (`<exe dir>/packages`, then `<exe dir>/../packages`, which is dist/packages for dist/collector/outpost-linux-x64),
 * else the checkout's dist/packages.
 */
export function defaultInstallerDirs(isSingleExecutable: boolean, execPath = process.execPath): string[] {
  if (isSingleExecutable) return [join(dirname(execPath), 'packages'), join(dirname(execPath), '..', 'packages')];
  return [fileURLToPath(new URL('../../../dist/packages', import.meta.url))];
}

/** The first candidate holding a manifest.json, else the first candidate (reported as unavailable when asked). */
export function pickInstallerDir(candidates: string[]): string {
  return candidates.find((d) => statOrNull(join(d, 'manifest.json'))?.isFile()) ?? candidates[0] ?? '.';
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** An open, verified file ready to stream. */
export interface InstallerFile {
  entry: ManifestEntry;
  size: number;
  stream: ReadStream;
}

/** Reads the manifest (re-read when it changes) and opens listed files after checking their hash. */
export class InstallerDirectory {
  #manifest: { key: string; value: InstallerManifest } | undefined;
  /** Verified file identities: `name` → `size:mtime:ino` whose content had the listed hash. */
  readonly #verified = new Map<string, string>();

  constructor(readonly dir: string) {}

  /** The manifest as validated; throws OUTPOST_E_INSTALLER_UNAVAILABLE when missing or malformed. */
  manifest(): InstallerManifest {
    const file = join(this.dir, 'manifest.json');
    const st = statOrNull(file);
    if (!st?.isFile()) throw unavailable(this.dir, 'no manifest.json');
    const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
    if (this.#manifest?.key === key) return this.#manifest.value;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw unavailable(this.dir, 'manifest.json is not JSON', cause);
    }
    if (!checkManifest.Check(parsed)) {
      const first = checkManifest.Errors(parsed).First();
      throw unavailable(this.dir, `manifest.json ${first?.path || '/'}: ${first?.message ?? 'invalid'}`);
    }
    this.#manifest = { key, value: parsed };
    this.#verified.clear();
    return parsed;
  }

  /** The entry named `name`, or undefined when the manifest does not list it. */
  entry(name: string): ManifestEntry | undefined {
    return this.manifest().files.find((f) => f.file === name);
  }

  /**
   * Opens a listed file (never following a symlink), checks it is a plain file of the listed size and, once per
   * change, its SHA-256. Unknown names: OUTPOST_E_NOT_FOUND, exactly as a missing file.
   */
  async open(name: string): Promise<InstallerFile> {
    const entry = this.entry(name);
    if (!entry) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: 'No such installer file' });
    const path = join(this.dir, entry.file);
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_INSTALLER_INTEGRITY', {
        cause,
        details: { file: entry.file, reason: 'cannot open' },
      });
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw integrity(entry, 'not a plain file');
      if (st.size !== entry.size) throw integrity(entry, `size ${st.size}, manifest ${entry.size}`);
      const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
      if (this.#verified.get(entry.file) !== key) {
        const actual = await hashFd(fd);
        if (actual !== entry.sha256) throw integrity(entry, 'SHA-256 differs from the manifest');
        this.#verified.set(entry.file, key);
      }
      return { entry, size: st.size, stream: createReadStream('', { fd, start: 0, autoClose: true }) };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
}

function integrity(entry: ManifestEntry, reason: string): OutpostError {
  return new OutpostError('OUTPOST_E_INSTALLER_INTEGRITY', { details: { file: entry.file, reason } });
}

/** Hashes an open file from its start without closing it. */
async function hashFd(fd: number): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream('', { fd, start: 0, autoClose: false });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
