/**
 * Native addons inside a single executable. The packaged agent carries node-pty's addon (and, on macOS, its spawn
 * helper) as SEA assets; before the first use in a process each one is written to a cache directory keyed by its
 * SHA-256 and loaded from there with `process.dlopen`. The cached file is re-hashed before every load: a file whose
 * hash differs from the copy inside the executable is never loaded but replaced atomically, and refused if it still
 * differs. The cache lives in a directory only the agent's user (or root) can write, and every directory above it
 * must be safe too (owned by root or us, not writable by others unless sticky), else nothing is extracted.
 *
 * Outside a single executable (running from source or the bundle) addons load from node_modules as before.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';
import { OutpostError } from '@outpost/shared';

const require = createRequire(import.meta.url);

/** What happened to one cached file, for the log. */
export type MaterialiseEvent = 'extracted' | 'verified' | 'replaced';

/** A file that was extracted (or found intact) in the cache. */
export interface Materialised {
  path: string;
  sha256: string;
  event: MaterialiseEvent;
}

/** The cache root: `OUTPOST_NATIVE_CACHE`, else a root-owned system directory for root, else the user's cache. */
export function nativeCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OUTPOST_NATIVE_CACHE) return resolve(env.OUTPOST_NATIVE_CACHE);
  if (process.platform === 'win32') {
    // LOCALAPPDATA of the service account (SYSTEM: under System32\config, administrators only).
    return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'Outpost', 'native');
  }
  if (process.getuid?.() === 0) {
    return process.platform === 'darwin' ? '/Library/Caches/Outpost/native' : '/var/cache/outpost/native';
  }
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'outpost', 'native');
}

const unsafe = (path: string, reason: string) =>
  new OutpostError('OUTPOST_E_NATIVE_CACHE_UNSAFE', { details: { path, reason } });

/**
 * Checks one directory the agent did not necessarily create: no symlink (for directories we own), owned by root or
 * us, and not writable by others unless it is sticky (/tmp). Windows has no POSIX modes: ACLs of the directories
 * under LOCALAPPDATA keep other users out.
 */
function checkAncestor(path: string, uid: number): void {
  const st = statSync(path);
  if (!st.isDirectory()) throw unsafe(path, 'not a directory');
  if (st.uid !== 0 && st.uid !== uid) throw unsafe(path, `owned by uid ${st.uid}`);
  if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) throw unsafe(path, 'writable by everyone and not sticky');
  if ((st.mode & 0o020) !== 0 && st.uid !== 0 && st.gid !== 0) throw unsafe(path, 'writable by its group');
}

/** Creates `dir` (0700) and checks it and every directory above it. */
function ensureSafeDir(dir: string): void {
  if (process.platform === 'win32') {
    mkdirSync(dir, { recursive: true });
    return;
  }
  const uid = process.getuid?.() ?? 0;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const own = lstatSync(dir);
  if (own.isSymbolicLink() || !own.isDirectory()) throw unsafe(dir, 'not a plain directory');
  if (own.uid !== uid) throw unsafe(dir, `owned by uid ${own.uid}, not ${uid}`);
  if ((own.mode & 0o077) !== 0) throw unsafe(dir, `mode ${(own.mode & 0o777).toString(8)}, want 700`);
  const root = parse(dir).root;
  for (let p = dirname(dir); ; p = dirname(p)) {
    checkAncestor(p, uid);
    if (p === root) break;
  }
}

/** The SHA-256 of a regular file owned by us, or null if it is missing or not a plain file we own. */
function hashOwnFile(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    if (process.platform !== 'win32' && st.uid !== (process.getuid?.() ?? 0)) return null;
    return createHash('sha256').update(readFileSync(fd)).digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename). */
function writeAtomic(path: string, bytes: Uint8Array, mode: number): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw err;
  }
}

/**
 * Makes `<root>/<sha256>/<name>` hold exactly `bytes`: verifies the cached file, replaces it when it differs or is
 * missing, and re-verifies what it wrote. Throws a coded error (and nothing may be loaded) otherwise.
 */
export function materialiseNative(root: string, name: string, bytes: Uint8Array, mode = 0o500): Materialised {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const dir = join(root, sha256);
  ensureSafeDir(root);
  ensureSafeDir(dir);
  const path = join(dir, name);
  const found = hashOwnFile(path);
  if (found === sha256) return { path, sha256, event: 'verified' };
  let existed = true;
  try {
    lstatSync(path);
  } catch {
    existed = false;
  }
  writeAtomic(path, bytes, mode);
  if (hashOwnFile(path) !== sha256) {
    throw new OutpostError('OUTPOST_E_NATIVE_ADDON_INTEGRITY', { details: { path, expectedSha256: sha256 } });
  }
  return { path, sha256, event: existed ? 'replaced' : 'extracted' };
}

interface SeaModule {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer;
}

let seaModule: SeaModule | null | undefined;
/** `node:sea` when running as a single executable, else null (also on Node versions without it). */
function sea(): SeaModule | null {
  if (seaModule === undefined) {
    try {
      const m = require('node:sea') as SeaModule;
      seaModule = m.isSea() ? m : null;
    } catch {
      seaModule = null;
    }
  }
  return seaModule;
}

/** True inside the packaged single executable. */
export function isSingleExecutable(): boolean {
  return sea() !== null;
}

/** Reports replaced (tampered or damaged) files; the runtime's logger is not built when addons load. */
function report(m: Materialised, name: string): void {
  if (m.event !== 'replaced') return;
  process.stderr.write(
    `${JSON.stringify({
      level: 40,
      time: Date.now(),
      svc: 'outpost-agent',
      pid: process.pid,
      name,
      path: m.path,
      sha256: m.sha256,
      msg: 'cached native file differed from the executable; replaced before use',
    })}\n`,
  );
}

/** True inside a single executable that carries the asset `name` (not every target carries every addon). */
export function hasNativeAsset(name: string): boolean {
  const s = sea();
  if (!s) return false;
  try {
    s.getRawAsset(name);
    return true;
  } catch {
    return false;
  }
}

/** Extracts (and verifies) the SEA asset `name`, returning its cached path. Only inside a single executable. */
export function nativeAssetPath(name: string, mode = 0o500): string {
  const s = sea();
  if (!s) throw new Error(`native asset ${name} requested outside a single executable`);
  const m = materialiseNative(nativeCacheRoot(), name, new Uint8Array(s.getRawAsset(name)), mode);
  report(m, name);
  return m.path;
}

const loaded = new Map<string, unknown>();

/** Loads the addon shipped as SEA asset `name` (verified before it is loaded; once per process). */
export function loadNativeAddon(name: string): unknown {
  const cached = loaded.get(name);
  if (cached !== undefined) return cached;
  const path = nativeAssetPath(name);
  const mod = { exports: {} as unknown };
  process.dlopen(mod, path);
  loaded.set(name, mod.exports);
  return mod.exports;
}
