/**
 * Files every node serves alike, kept in the database (docs/0017-nodes.md, "One data directory per node"):
 *
 * - `ReleaseMirror`: the release repository (`<dataDir>/releases`). The node an admin publishes through pushes every
 *   live file and the trusted root, then replaces the `releases` file list in one transaction (a new generation);
 *   every node, before it serves or validates anything, compares that generation with the one its directory holds
 *   and, when stale, writes what changed (to a temporary name, then renamed) and removes what is gone. The directory
 *   stays what the routes stream from: a node serves local files, and the database is read once per request for the
 *   generation.
 * - `SharedRecordings`: a finished recording is pushed under its relative path; a node without the file streams it
 *   from the database.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { CHUNK_BYTES, type DeploymentStore, type SharedFile } from './store.js';

/** SHA-256 and size of a file, streamed. */
async function digestOf(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Stores a local file's bytes and returns its entry under `path`. */
async function storeFile(store: DeploymentStore, path: string, file: string): Promise<SharedFile> {
  const { sha256, size } = await digestOf(file);
  if (!(await store.hasBlob(sha256)))
    await store.putBlob(sha256, createReadStream(file, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>);
  return { path, sha256, size };
}

function* walk(dir: string, rel = ''): Generator<string> {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) yield* walk(join(dir, e.name), r);
    else if (e.isFile() && !e.name.startsWith('.')) yield r;
  }
}

/** The release repository of every node, kept alike through the database. */
export class ReleaseMirror {
  static readonly SCOPE = 'releases';
  /** The generation this node's directory holds (0: not synced since start). */
  #generation = 0;
  /** One sync at a time: concurrent requests wait for the same one. */
  #syncing: Promise<void> | undefined;

  constructor(
    private readonly store: DeploymentStore,
    /** The repository directory (`<dataDir>/releases`). */
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /** Brings the local directory up to the database's generation (no-op when it is current). */
  async sync(): Promise<void> {
    while (this.#syncing) await this.#syncing;
    this.#syncing = this.#pull().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #pull(): Promise<void> {
    const current = await this.store.generation(ReleaseMirror.SCOPE);
    if (current === 0 && this.#generation === 0 && existsSync(join(this.dir, 'trusted-root.json'))) {
      // Nothing stored yet, but this node published before it joined (a single-node deployment growing): its
      // repository becomes the deployment's, as its certificate and ticket key do.
      await this.#push();
      return;
    }
    if (current === this.#generation) return;
    const { generation, files } = await this.store.files(ReleaseMirror.SCOPE);
    const wanted = new Set(files.map((f) => f.path));
    let written = 0;
    for (const f of files) {
      const local = join(this.dir, ...f.path.split('/'));
      if (existsSync(local) && (await digestOf(local)).sha256 === f.sha256) continue;
      const bytes = await this.store.readBlob(f.sha256);
      if (!bytes) throw new Error(`release file ${f.path} (${f.sha256}) is listed but not stored`);
      mkdirSync(dirname(local), { recursive: true });
      const tmp = join(dirname(local), `.${f.path.split('/').pop()}.sync`);
      await pipeline(Readable.from(bytes), createWriteStream(tmp, { mode: 0o644 }));
      renameSync(tmp, local);
      written++;
    }
    // What a newer publish no longer lists (only the served tree and the trusted root: never a staging upload).
    let removed = 0;
    for (const rel of walk(join(this.dir, 'live'), 'live')) {
      if (wanted.has(rel)) continue;
      rmSync(join(this.dir, ...rel.split('/')), { force: true });
      removed++;
    }
    this.#generation = generation;
    this.logger.info(
      { generation, files: files.length, written, removed },
      'release repository synced from the database',
    );
  }

  /**
   * Runs a publish through this node (`commit` makes an upload live in the directory) with no sync meanwhile, then
   * stores every served file and the trusted root and lists them as one generation. Two admins publishing through
   * two nodes at once: the later list wins whole (each is a complete, validated repository).
   */
  async publish<T>(commit: () => Promise<T>): Promise<T> {
    await this.sync();
    while (this.#syncing) await this.#syncing;
    const run = (async () => {
      const result = await commit();
      await this.#push();
      return result;
    })();
    this.#syncing = run.then(
      () => undefined,
      () => undefined,
    );
    void this.#syncing.finally(() => {
      this.#syncing = undefined;
    });
    return run;
  }

  async #push(): Promise<void> {
    const files: SharedFile[] = [];
    const rels = [...walk(join(this.dir, 'live'), 'live')];
    if (existsSync(join(this.dir, 'trusted-root.json'))) rels.push('trusted-root.json');
    for (const rel of rels) files.push(await storeFile(this.store, rel, join(this.dir, ...rel.split('/'))));
    this.#generation = await this.store.replaceFiles(ReleaseMirror.SCOPE, files);
    const bytes = files.reduce((n, f) => n + f.size, 0);
    this.logger.info({ generation: this.#generation, files: files.length, bytes }, 'release repository stored');
  }
}

/** Recordings readable from every node. */
export class SharedRecordings {
  static readonly SCOPE = 'recordings';
  constructor(
    private readonly store: DeploymentStore,
    private readonly dataDir: string,
  ) {}

  /** Stores a finished recording (`relPath` under the data directory, as the session row names it). */
  async put(relPath: string): Promise<void> {
    const entry = await storeFile(this.store, relPath, join(this.dataDir, relPath));
    await this.store.putFile(SharedRecordings.SCOPE, entry);
  }

  /** A recording's bytes from the database, or undefined when no node stored it. */
  async read(relPath: string): Promise<Readable | undefined> {
    const f = await this.store.file(SharedRecordings.SCOPE, relPath);
    const bytes = f && (await this.store.readBlob(f.sha256));
    return bytes && Readable.from(bytes);
  }
}
