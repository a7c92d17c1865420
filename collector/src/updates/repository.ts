/**
 * The release files the collector serves (docs/0011-releases.md), on disk under <dataDir>/releases:
 *   trusted-root.json   the root the first publish brought (an admin's act, audited); later roots must chain from it
 *   live/metadata/      what agents fetch (N.root.json, timestamp, snapshot, targets)
 *   live/targets/       the executables, streamed to agents, never buffered
 *   staging/<id>/       an upload in progress (metadata/, targets/), validated whole before it goes live
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OutpostError, ReleaseCustom } from '@outpost/shared';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { validateRepository } from './validate.js';

/** One published executable, as `outpost releases list` shows it. */
export interface ReleaseInfo {
  version: string;
  platform: string;
  path: string;
  length: number;
  sha256: string;
  rollbackAllowed: boolean;
}

/** The served metadata's versions and expiries. */
export interface RepositoryState {
  published: boolean;
  /** SHA-256 of the trusted root (the first publish's 1.root.json), what installers pin; null before any publish. */
  rootSha256: string | null;
  roles: { role: string; version: number; expires: string }[];
  releases: ReleaseInfo[];
}

const checkCustom = TypeCompiler.Compile(ReleaseCustom);
/** Largest single uploaded file (an agent executable is ~150 MB). */
export const MAX_RELEASE_FILE_BYTES = 512 * 1024 * 1024;
const METADATA_NAME = /^(?:[1-9][0-9]{0,8}\.root|root|timestamp|snapshot|targets)\.json$/;
const TARGET_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A relative target path, every segment plain (no `..`, no hidden names, no separators): or a coded refusal. */
export function checkTargetPath(path: string): string {
  const parts = path.split('/');
  if (parts.length > 8 || parts.some((p) => !TARGET_SEGMENT.test(p) || p.includes('..'))) {
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: 'Not a release target path',
      details: { path: path.slice(0, 200) },
    });
  }
  return path;
}

/** Checks a metadata file name. */
export function checkMetadataName(name: string): string {
  if (!METADATA_NAME.test(name))
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: 'Not a release metadata file name',
      details: { name: name.slice(0, 100) },
    });
  return name;
}

/** The release files of one collector. */
export class ReleaseRepository {
  readonly dir: string;
  constructor(dataDir: string) {
    this.dir = join(dataDir, 'releases');
    // Uploads that never committed (a crash, a dropped CLI) are not resumed. Directories are made at first upload.
    rmSync(join(this.dir, 'staging'), { recursive: true, force: true });
  }

  get #live() {
    return join(this.dir, 'live');
  }

  /** A served metadata file's path, or undefined. */
  metadataFile(name: string): string | undefined {
    if (!METADATA_NAME.test(name)) return undefined;
    const f = join(this.#live, 'metadata', name);
    return existsSync(f) ? f : undefined;
  }

  /** A served target's path and size, or undefined. */
  targetFile(path: string): { file: string; size: number } | undefined {
    try {
      checkTargetPath(path);
    } catch {
      return undefined;
    }
    const f = join(this.#live, 'targets', ...path.split('/'));
    try {
      const st = statSync(f);
      return st.isFile() ? { file: f, size: st.size } : undefined;
    } catch {
      // Not published: the route answers 404.
      return undefined;
    }
  }

  /** Opens an upload; returns its id. */
  openUpload(): string {
    const id = randomBytes(12).toString('base64url');
    mkdirSync(join(this.#live, 'metadata'), { recursive: true });
    mkdirSync(join(this.#live, 'targets'), { recursive: true });
    mkdirSync(join(this.dir, 'staging', id, 'metadata'), { recursive: true });
    mkdirSync(join(this.dir, 'staging', id, 'targets'), { recursive: true });
    return id;
  }

  #staging(id: string): string {
    const d = join(this.dir, 'staging', id);
    if (!/^[A-Za-z0-9_-]{16}$/.test(id) || !existsSync(d))
      throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No release upload ${id.slice(0, 40)}` });
    return d;
  }

  /** Streams one uploaded file to disk (`metadata/<name>` or `targets/<path>`), refusing more than the cap. */
  async putFile(id: string, kind: 'metadata' | 'targets', path: string, body: Readable): Promise<number> {
    const base = join(this.#staging(id), kind);
    const rel = kind === 'metadata' ? checkMetadataName(path) : checkTargetPath(path);
    const dest = resolve(base, ...rel.split('/'));
    if (!dest.startsWith(base + sep))
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: 'Path escapes the upload' });
    mkdirSync(dirname(dest), { recursive: true });
    let size = 0;
    const cap = kind === 'metadata' ? 4 * 1024 * 1024 : MAX_RELEASE_FILE_BYTES;
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          size += chunk.length;
          if (size > cap)
            throw new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', { message: `${rel} is over ${cap} bytes` });
          yield chunk;
        }
      },
      createWriteStream(dest),
    );
    return size;
  }

  /**
   * Validates an upload whole and makes it live: targets first, then the metadata with timestamp last, so an agent
   * fetching meanwhile sees the old consistent set or the new one. The first publish sets the trusted root.
   */
  async commit(id: string): Promise<{ releases: ReleaseInfo[]; firstRoot: boolean }> {
    const staged = this.#staging(id);
    try {
      const trustedFile = join(this.dir, 'trusted-root.json');
      const firstRoot = !existsSync(trustedFile);
      const trustedRoot = firstRoot ? this.#firstRoot(staged) : readFileSync(trustedFile, 'utf8');
      const targets = await validateRepository({
        staged,
        trustedRoot,
        live: join(this.#live, 'metadata'),
        liveTarget: (p) => this.targetFile(p)?.file,
      });
      for (const file of walk(join(staged, 'targets'))) {
        const rel = file
          .slice(join(staged, 'targets').length + 1)
          .split(sep)
          .join('/');
        if (!targets[rel]) continue; // uploaded but not signed: never served
        const dest = join(this.#live, 'targets', ...rel.split('/'));
        mkdirSync(dirname(dest), { recursive: true });
        renameSync(file, dest);
      }
      const names = readdirSync(join(staged, 'metadata')).filter((n) => METADATA_NAME.test(n));
      const order = (n: string) => ['targets.json', 'snapshot.json', 'timestamp.json'].indexOf(n);
      for (const n of names.sort((a, b) => order(a) - order(b))) {
        const tmp = join(this.#live, 'metadata', `.${n}.tmp`);
        copyFileSync(join(staged, 'metadata', n), tmp);
        renameSync(tmp, join(this.#live, 'metadata', n));
      }
      if (firstRoot) {
        copyFileSync(join(staged, 'metadata', '1.root.json'), `${trustedFile}.tmp`);
        renameSync(`${trustedFile}.tmp`, trustedFile);
      }
      return { releases: this.state().releases, firstRoot };
    } finally {
      rmSync(staged, { recursive: true, force: true });
    }
  }

  /** The root a first publish brings: its 1.root.json (which the agents were given at install). */
  #firstRoot(staged: string): string {
    const f = join(staged, 'metadata', '1.root.json');
    if (!existsSync(f))
      throw new OutpostError('OUTPOST_E_RELEASE_INVALID', {
        message: 'The first publish must include metadata/1.root.json',
      });
    return readFileSync(f, 'utf8');
  }

  /** What is served now. */
  state(): RepositoryState {
    const read = (name: string) => {
      const f = this.metadataFile(`${name}.json`);
      return f ? (JSON.parse(readFileSync(f, 'utf8')) as { signed: Record<string, unknown> }) : undefined;
    };
    const roles: RepositoryState['roles'] = [];
    for (const r of ['root', 'targets', 'snapshot', 'timestamp']) {
      const m = read(r);
      if (m) roles.push({ role: r, version: Number(m.signed.version), expires: String(m.signed.expires) });
    }
    const targets = (read('targets')?.signed.targets ?? {}) as Record<
      string,
      { length: number; hashes: { sha256?: string }; custom?: unknown }
    >;
    const releases: ReleaseInfo[] = [];
    for (const [path, t] of Object.entries(targets)) {
      if (!checkCustom.Check(t.custom)) continue;
      releases.push({
        version: t.custom.version,
        platform: t.custom.platform,
        path,
        length: t.length,
        sha256: t.hashes.sha256 ?? '',
        rollbackAllowed: t.custom.rollbackAllowed === true,
      });
    }
    releases.sort(
      (a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }) || a.platform.localeCompare(b.platform),
    );
    const trusted = join(this.dir, 'trusted-root.json');
    const rootSha256 = existsSync(trusted) ? createHash('sha256').update(readFileSync(trusted)).digest('hex') : null;
    return { published: roles.length > 0, rootSha256, roles, releases };
  }
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}
