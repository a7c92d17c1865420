/**
 * The packaging scripts' pinned inputs: npm tarballs fetched once by version and sha512 integrity into
 * ~/.cache/outpost (OUTPOST_CACHE_DIR), and unpacked from there. Used by build.ts, collector.ts and pty-compile.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const log = (msg: string) => process.stderr.write(`package: ${msg}\n`);

/** A pinned npm package (name and sha512 integrity). */
export interface PinnedPackage {
  package: string;
  integrity: string;
}

/** A pinned input cannot be had (not cached, and the registry cannot be reached): `pnpm package` exits 3. */
export class InputUnavailable extends Error {}

export const cacheDir = (): string => process.env.OUTPOST_CACHE_DIR || join(homedir(), '.cache', 'outpost');

/** A pinned npm package's tarball from the cache, fetched with `npm pack` (npm checks the integrity) if missing. */
export function pinnedTarball(spec: PinnedPackage, version: string, offline: boolean): string {
  const dir = join(cacheDir(), 'npm');
  const file = join(dir, `${spec.package.replace('@', '').replace('/', '-')}-${version}.tgz`);
  const [algo, b64] = spec.integrity.split('-', 2) as [string, string];
  const check = (f: string) => createHash(algo).update(readFileSync(f)).digest('base64') === b64;
  if (existsSync(file)) {
    if (check(file)) return file;
    log(`${file} does not match its pinned integrity; fetching it again`);
  }
  if (offline) throw new InputUnavailable(`${spec.package}@${version} is not cached in ${dir} and --offline was given`);
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(dir, '.fetch-'));
  try {
    log(`fetching ${spec.package}@${version} from the npm registry`);
    let out: string;
    try {
      out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp, `${spec.package}@${version}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? String(err);
      throw new InputUnavailable(
        `${spec.package}@${version} cannot be fetched from the npm registry: ${stderr.trim()}`,
      );
    }
    const [info] = JSON.parse(out) as { filename: string; integrity: string }[];
    if (!info || info.integrity !== spec.integrity) {
      throw new Error(`${spec.package}@${version}: registry integrity ${info?.integrity} is not the pinned one`);
    }
    const fetched = join(tmp, info.filename);
    if (!check(fetched)) throw new Error(`${spec.package}@${version}: tarball does not match its integrity`);
    renameSync(fetched, file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return file;
}

/** Extracts `members` (paths inside the tarball's `package/`) into `dir`. */
export function untar(tgz: string, dir: string, members: string[]): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1', ...members.map((m) => `package/${m}`)]);
}

/** Unpacks `members` of the pinned tarball into `dir` once (atomic rename), returning `dir`. */
export function unpackOnce(
  spec: PinnedPackage,
  version: string,
  offline: boolean,
  dir: string,
  members: string[],
): string {
  if (existsSync(dir)) return dir;
  const tgz = pinnedTarball(spec, version, offline);
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  untar(tgz, tmp, members);
  try {
    renameSync(tmp, dir);
  } catch {
    // a concurrent build put it there first
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
