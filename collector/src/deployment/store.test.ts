/**
 * The deployment store on SQLite and PostgreSQL: a secret is made once and every later caller reads the winner (on
 * PostgreSQL three pools racing, as three nodes starting at once); blobs round-trip byte for byte across chunks and
 * refuse content that does not hash to their name; a scope's file list is replaced whole under a new generation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeStores, freshPostgres } from '../db/dialects.fixture.js';
import { migrateSql, PostgresSql } from '../db/index.js';
import { postgresUnavailable } from '../db/pg-cluster.fixture.js';
import { CHUNK_BYTES, DeploymentStore, deploymentMigrations } from './store.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function* chunksOf(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function bytesOf(it: AsyncIterable<Buffer> | undefined): Promise<Buffer | undefined> {
  if (!it) return undefined;
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describeStores('deployment store', deploymentMigrations, (db) => {
  it('makes a secret once: the second node reads the first one and its own is never made', async () => {
    const store = new DeploymentStore(db());
    const a = await store.secret('session-ticket-key', 'node-a', async () => 'pem-a');
    expect(a).toEqual({ value: 'pem-a', created: true });
    let made = false;
    const b = await store.secret('session-ticket-key', 'node-b', async () => {
      made = true;
      return 'pem-b';
    });
    expect(b).toEqual({ value: 'pem-a', created: false });
    expect(made).toBe(false);
    expect((await store.secret('tls-identity', 'node-b', async () => 'tls-b')).value).toBe('tls-b');
  });

  it('stores a blob over several chunks and reads it back byte for byte; refuses bytes that hash otherwise', async () => {
    const store = new DeploymentStore(db());
    const bytes = randomBytes(2 * CHUNK_BYTES + 12_345);
    await store.putBlob(sha(bytes), chunksOf(bytes, CHUNK_BYTES));
    expect(await store.hasBlob(sha(bytes))).toBe(true);
    expect(sha((await bytesOf(await store.readBlob(sha(bytes)))) ?? Buffer.alloc(0))).toBe(sha(bytes));
    const rows = await db().all<{ n: number }>('SELECT count(*) AS n FROM shared_chunks WHERE sha256 = ?', [
      sha(bytes),
    ]);
    expect(Number(rows[0]?.n)).toBe(3);
    // Stored again (a second file with the same content): nothing is written twice.
    await store.putBlob(sha(bytes), chunksOf(Buffer.from('never read'), 4));
    const other = Buffer.from('other bytes');
    const wrongName = sha(Buffer.from('not these bytes'));
    await expect(store.putBlob(wrongName, chunksOf(other, 4))).rejects.toThrow(/hashes to/);
    expect(await store.hasBlob(wrongName)).toBe(false);
    expect(await db().get('SELECT 1 AS one FROM shared_chunks WHERE sha256 = ?', [wrongName])).toBeUndefined();
    expect(await store.readBlob('0'.repeat(64))).toBeUndefined();
  });

  it('replaces a scope whole under a new generation; a single file is named without one', async () => {
    const store = new DeploymentStore(db());
    expect(await store.generation('releases')).toBe(0);
    const f = (path: string) => ({ path, sha256: sha(Buffer.from(path)), size: path.length });
    expect(await store.replaceFiles('releases', [f('live/metadata/timestamp.json'), f('trusted-root.json')])).toBe(1);
    expect(await store.replaceFiles('releases', [f('trusted-root.json')])).toBe(2);
    expect(await store.files('releases')).toEqual({ generation: 2, files: [f('trusted-root.json')] });
    await store.putFile('recordings', f('recordings/s1.cast.gz'));
    await store.putFile('recordings', { ...f('recordings/s1.cast.gz'), size: 99 });
    expect(await store.file('recordings', 'recordings/s1.cast.gz')).toMatchObject({ size: 99 });
    expect(await store.generation('recordings')).toBe(0);
    expect(await store.file('releases', 'recordings/s1.cast.gz')).toBeUndefined();
  });
});

describe.skipIf(postgresUnavailable)('deployment secrets on PostgreSQL, three nodes starting at once', () => {
  it('has one winner that all three use, ten rounds', async () => {
    const url = await freshPostgres();
    const pools = [0, 1, 2].map(() => new PostgresSql(url, { max: 2 }));
    try {
      await migrateSql(pools[0]!, deploymentMigrations);
      for (let round = 0; round < 10; round++) {
        const results = await Promise.all(
          pools.map((p, i) => new DeploymentStore(p).secret(`k${round}`, `node-${i}`, async () => `value-${i}`)),
        );
        expect(new Set(results.map((r) => r.value)).size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
      }
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });
});
