/**
 * All SQL of the deployment concern: what every node of a deployment must share when each has its own data
 * directory (docs/0017-nodes.md, "One data directory per node"). Secrets (TLS identity, session-ticket key) are rows
 * the first node inserts and the others read; files (releases, recordings) are content-addressed chunks plus a list
 * of named files per scope, with a generation a node compares to know its local copy is stale. SQLite or PostgreSQL.
 */
import { createHash } from 'node:crypto';
import type { Migration, SqlDb } from '../db/index.js';

/** The deployment concern's schema. */
export const deploymentMigrations: Migration[] = [
  {
    id: '0810_deployment_shared',
    concern: 'deployment',
    sql: `
      CREATE TABLE deployment_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE shared_blobs (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        chunks INTEGER NOT NULL
      );
      CREATE TABLE shared_chunks (
        sha256 TEXT NOT NULL,
        idx INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (sha256, idx)
      );
      CREATE TABLE shared_files (
        scope TEXT NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (scope, path)
      );
      CREATE TABLE shared_generations (
        scope TEXT PRIMARY KEY,
        generation INTEGER NOT NULL
      );
    `,
  },
];

/** Bytes per stored chunk: a row PostgreSQL and SQLite both handle without strain, and what a reader holds at once. */
export const CHUNK_BYTES = 1024 * 1024;

/** One named file of a scope. */
export interface SharedFile {
  path: string;
  sha256: string;
  size: number;
}

/** Store functions of the deployment concern. */
export class DeploymentStore {
  constructor(private readonly db: SqlDb) {}

  /**
   * The secret `name`: the stored one, or `make()`'s inserted when there is none. Several nodes starting at once may
   * each make one; the insert keeps the first (`ON CONFLICT DO NOTHING`) and every node re-reads and uses the winner.
   */
  async secret(name: string, node: string, make: () => Promise<string>): Promise<{ value: string; created: boolean }> {
    const read = () =>
      this.db.get<{ value: string; createdBy: string }>(
        'SELECT value, created_by AS "createdBy" FROM deployment_secrets WHERE name = ?',
        [name],
      );
    const stored = await read();
    if (stored) return { value: stored.value, created: false };
    const value = await make();
    const inserted = await this.db.run(
      'INSERT INTO deployment_secrets (name, value, created_by, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
      [name, value, node, Date.now()],
    );
    const won = await read();
    if (!won) throw new Error(`deployment secret ${name} vanished after its insert`);
    return { value: won.value, created: inserted.changes === 1 && won.value === value };
  }

  /** True when the blob is stored whole (its row is written after its last chunk). */
  async hasBlob(sha256: string): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS one FROM shared_blobs WHERE sha256 = ?', [sha256])) !== undefined;
  }

  /**
   * Stores `chunks` (each at most CHUNK_BYTES) under their SHA-256, which must equal `sha256`: a blob is written once
   * whatever the number of files naming it, and recorded whole only after its last chunk.
   */
  async putBlob(sha256: string, chunks: AsyncIterable<Buffer>): Promise<void> {
    if (await this.hasBlob(sha256)) return;
    const hash = createHash('sha256');
    let idx = 0;
    let size = 0;
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
      await this.db.run(
        'INSERT INTO shared_chunks (sha256, idx, bytes) VALUES (?, ?, ?) ON CONFLICT (sha256, idx) DO UPDATE SET bytes = excluded.bytes',
        [sha256, idx++, chunk],
      );
    }
    const got = hash.digest('hex');
    if (got !== sha256) {
      await this.db.run('DELETE FROM shared_chunks WHERE sha256 = ?', [sha256]);
      throw new Error(`blob content hashes to ${got}, not ${sha256}`);
    }
    await this.db.run(
      'INSERT INTO shared_blobs (sha256, size, chunks) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING',
      [sha256, size, idx],
    );
  }

  /** A stored blob's bytes, one chunk (one query) at a time; undefined when not stored whole. */
  async readBlob(sha256: string): Promise<AsyncIterable<Buffer> | undefined> {
    const blob = await this.db.get<{ chunks: number }>('SELECT chunks FROM shared_blobs WHERE sha256 = ?', [sha256]);
    if (!blob) return undefined;
    const db = this.db;
    return (async function* () {
      for (let idx = 0; idx < blob.chunks; idx++) {
        const row = await db.get<{ bytes: Buffer }>('SELECT bytes FROM shared_chunks WHERE sha256 = ? AND idx = ?', [
          sha256,
          idx,
        ]);
        if (!row) throw new Error(`chunk ${idx} of blob ${sha256} is missing`);
        yield row.bytes;
      }
    })();
  }

  /** Names one file of a scope (adding or replacing it), without touching the scope's generation. */
  async putFile(scope: string, file: SharedFile): Promise<void> {
    await this.db.run(
      `INSERT INTO shared_files (scope, path, sha256, size) VALUES (?, ?, ?, ?)
       ON CONFLICT (scope, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size`,
      [scope, file.path, file.sha256, file.size],
    );
  }

  /** One file of a scope, or undefined. */
  file(scope: string, path: string): Promise<SharedFile | undefined> {
    return this.db.get<SharedFile>('SELECT path, sha256, size FROM shared_files WHERE scope = ? AND path = ?', [
      scope,
      path,
    ]);
  }

  /** Replaces a scope's whole file list in one transaction and bumps its generation; returns the new generation. */
  async replaceFiles(scope: string, files: readonly SharedFile[]): Promise<number> {
    return this.db.transaction(async () => {
      await this.db.run('DELETE FROM shared_files WHERE scope = ?', [scope]);
      if (files.length)
        await this.db.runMany(
          'INSERT INTO shared_files (scope, path, sha256, size) VALUES (?, ?, ?, ?)',
          files.map((f) => [scope, f.path, f.sha256, f.size]),
        );
      const row = await this.db.get<{ generation: number }>(
        `INSERT INTO shared_generations (scope, generation) VALUES (?, 1)
         ON CONFLICT (scope) DO UPDATE SET generation = shared_generations.generation + 1
         RETURNING generation`,
        [scope],
      );
      return Number(row?.generation);
    });
  }

  /** A scope's generation (0 before its first list). */
  async generation(scope: string): Promise<number> {
    const row = await this.db.get<{ generation: number }>('SELECT generation FROM shared_generations WHERE scope = ?', [
      scope,
    ]);
    return Number(row?.generation ?? 0);
  }

  /** A scope's files and the generation they belong to, read together. */
  async files(scope: string): Promise<{ generation: number; files: SharedFile[] }> {
    return this.db.transaction(async () => ({
      generation: await this.generation(scope),
      files: await this.db.all<SharedFile>(
        'SELECT path, sha256, size FROM shared_files WHERE scope = ? ORDER BY path',
        [scope],
      ),
    }));
  }
}
