/**
 * Detection's own store: the checkpoint round-trips on SQLite and PostgreSQL; on a real SQLite file, a database created
 * while
 * `detection_state` belonged to the metrics migration (0200) opens with today's migrations and keeps its checkpoint,
 * its table definition unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../app.js';
import { describeStores } from '../db/dialects.fixture.js';
import { type Db, type Migration, migrate, openDatabase, prepared, sqlOf } from '../db/index.js';
import { DetectionStore, detectionMigrations } from './store.js';

/** `0200_metrics` as it was shipped while it also created detection's checkpoint table (verbatim). */
const OLD_0200: Migration = {
  id: '0200_metrics',
  concern: 'metrics',
  sql: `
      CREATE TABLE metric_series (
        id INTEGER PRIMARY KEY,
        agent_id TEXT NOT NULL,
        name TEXT NOT NULL,
        UNIQUE (agent_id, name)
      );
      CREATE TABLE metric_samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);
      CREATE INDEX metric_samples_ts ON metric_samples (ts);
      CREATE TABLE metric_batches (agent_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (agent_id, seq)) WITHOUT ROWID;
      CREATE TABLE metric_rollups (
        resolution INTEGER NOT NULL,
        series_id INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        n INTEGER NOT NULL,
        sum REAL NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        PRIMARY KEY (resolution, series_id, bucket)
      ) WITHOUT ROWID;
      CREATE TABLE metric_rollup_marks (resolution INTEGER PRIMARY KEY, done_until INTEGER NOT NULL);
      CREATE TABLE detection_state (key TEXT PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;
    `,
};

const tableSql = (db: Db) =>
  prepared<[], { sql: string }>(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'detection_state'")
    .all()
    .map((r) => r.sql.replace(/\s+/g, ' ').replace('IF NOT EXISTS ', ''));

const checkpoint = new Map<string, Uint8Array>([
  ['ag_1|cpu.total_pct', new Uint8Array(new Float64Array([1.5, -2, Number.NaN, 42]).buffer)],
  ['absent|ag_2', new Uint8Array(0)],
  ['rule|ag_1|cpu.total_pct|>90', new Uint8Array(new Float64Array([1_700_000_000_000, -1, 1]).buffer)],
]);

describeStores('detection checkpoint', detectionMigrations, (db) => {
  it('saves the checkpoint whole and loads it back byte for byte; a new save replaces the old one', async () => {
    const store = new DetectionStore(db());
    expect((await store.load()).size).toBe(0);
    await store.save(checkpoint);
    const back = await store.load();
    expect([...back.keys()].sort()).toEqual([...checkpoint.keys()].sort());
    for (const [k, v] of checkpoint) expect(Buffer.from(back.get(k)!).equals(Buffer.from(v))).toBe(true);
    await store.save(new Map([['absent|ag_3', new Uint8Array(0)]]));
    expect([...(await store.load()).keys()]).toEqual(['absent|ag_3']);
    await store.save(new Map());
    expect((await store.load()).size).toBe(0);
  });

  it('keeps a view into a larger buffer to its own bytes, and a checkpoint of many keys in one save', async () => {
    const store = new DetectionStore(db());
    const big = new Uint8Array(64).map((_, i) => i);
    const many = new Map<string, Uint8Array>([['view', big.subarray(8, 24)]]);
    for (let i = 0; i < 2_500; i++) many.set(`ag_${i}|cpu`, new Uint8Array([i & 255, i >> 8]));
    await store.save(many);
    const back = await store.load();
    expect(back.size).toBe(2_501);
    expect([...back.get('view')!]).toEqual([...big.subarray(8, 24)]);
    expect([...back.get('ag_2499|cpu')!]).toEqual([2499 & 255, 2499 >> 8]);
  });

  it("leaves the previous checkpoint whole when a save fails inside the caller's transaction", async () => {
    const store = new DetectionStore(db());
    await store.save(checkpoint);
    await expect(
      db().transaction(async () => {
        await store.save(new Map([['new', new Uint8Array([1])]]));
        throw new Error('the batch failed');
      }),
    ).rejects.toThrow('the batch failed');
    expect([...(await store.load()).keys()].sort()).toEqual([...checkpoint.keys()].sort());
  });
});

describe('DetectionStore on a SQLite file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-detection-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens a database whose checkpoint table came from the old metrics migration and keeps its state', async () => {
    const file = join(dir, 'old.db');
    // A collector of the previous version: its migrations, with 0200 creating detection_state, and a checkpoint.
    const old = openDatabase(file);
    migrate(
      old,
      MIGRATIONS.filter((m) => m.id !== '0251_detection_state').map((m) => (m.id === OLD_0200.id ? OLD_0200 : m)),
    );
    const ins = prepared(old, 'INSERT INTO detection_state (key, state) VALUES (?, ?)');
    for (const [k, v] of checkpoint) ins.run(k, Buffer.from(v));
    const before = tableSql(old);
    old.close();

    const db = openDatabase(file);
    expect(migrate(db, MIGRATIONS)).toEqual(['0251_detection_state']);
    expect(tableSql(db)).toEqual(before);
    const back = await new DetectionStore(sqlOf(db)).load();
    expect(back.size).toBe(checkpoint.size);
    for (const [k, v] of checkpoint) expect(Buffer.from(back.get(k)!).equals(Buffer.from(v))).toBe(true);
    db.close();

    // A database created today has the same table, declared by detection (not by metrics).
    const fresh = openDatabase(join(dir, 'new.db'));
    migrate(fresh, MIGRATIONS);
    expect(tableSql(fresh)).toEqual(before);
    const owner = prepared<[], { concern: string }>(
      fresh,
      "SELECT concern FROM schema_migrations WHERE id = '0251_detection_state'",
    ).get();
    expect(owner?.concern).toBe('detection');
    fresh.close();
  });
});
