/**
 * Detection's own store on a real SQLite file: the checkpoint round-trips, and a database created while
 * `detection_state` belonged to the metrics migration (0200) opens with today's migrations and keeps its checkpoint,
 * its table definition unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../app.js';
import { type Db, type Migration, migrate, openDatabase, prepared } from '../db/index.js';
import { DetectionStore } from './store.js';

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

describe('DetectionStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-detection-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves the checkpoint whole and loads it back byte for byte; a new save replaces the old one', async () => {
    const db = openDatabase(join(dir, 'c.db'));
    migrate(db, MIGRATIONS);
    const store = new DetectionStore(db);
    expect((await store.load()).size).toBe(0);
    await store.save(checkpoint);
    const back = await store.load();
    expect([...back.keys()].sort()).toEqual([...checkpoint.keys()].sort());
    for (const [k, v] of checkpoint) expect(Buffer.from(back.get(k)!).equals(Buffer.from(v))).toBe(true);
    await store.save(new Map([['absent|ag_3', new Uint8Array(0)]]));
    expect([...(await store.load()).keys()]).toEqual(['absent|ag_3']);
    db.close();
  });

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
    const back = await new DetectionStore(db).load();
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
