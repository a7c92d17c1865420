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
import { type Db, type Migration, migrate, migrateSql, openDatabase, prepared, sqlOf } from '../db/index.js';
import { agentOfKey } from './state-keys.js';
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

const bytes = (...xs: number[]) => new Uint8Array(new Float64Array(xs).buffer);
const upsert = (key: string, agentId: string | null, state: Uint8Array) => ({ key, agentId, state });
const keysOf = (m: ReadonlyMap<string, Uint8Array>) => [...m.keys()].sort();

describeStores('detection checkpoint', detectionMigrations, (db) => {
  it('two nodes writing different agents never erase each other; an agent reads back its own keys and absence', async () => {
    const nodeA = new DetectionStore(db());
    const nodeB = new DetectionStore(db());
    expect((await nodeA.load()).size).toBe(0);
    await nodeA.write({
      upserts: [
        upsert('ag_1|cpu.total_pct', 'ag_1', bytes(1, 2)),
        upsert('rule|ag_1|cpu.total_pct|>90', 'ag_1', bytes(1_700_000_000_000, -1, 1)),
        upsert('inv|inventory:ag_1:av.off', 'ag_1', new Uint8Array(0)),
      ],
      deletes: [],
    });
    await nodeB.write({
      upserts: [upsert('ag_2|cpu.total_pct', 'ag_2', bytes(3)), upsert('check|ag_2|ping', 'ag_2', bytes(2, 5, 1))],
      deletes: [],
    });
    // The fleet sweeps' holder writes the absence keys.
    await nodeB.write({ upserts: [upsert('absent|ag_1', null, new Uint8Array(0))], deletes: [] });

    expect(keysOf(await nodeB.loadAgent('ag_1'))).toEqual([
      'absent|ag_1',
      'ag_1|cpu.total_pct',
      'inv|inventory:ag_1:av.off',
      'rule|ag_1|cpu.total_pct|>90',
    ]);
    expect(keysOf(await nodeA.loadAgent('ag_2'))).toEqual(['ag_2|cpu.total_pct', 'check|ag_2|ping']);
    expect(keysOf(await nodeA.loadFleet())).toEqual(['absent|ag_1']);
    expect([...(await nodeA.loadAgent('ag_2')).get('ag_2|cpu.total_pct')!]).toEqual([...bytes(3)]);

    // Node A replaces one of ag_1's keys and deletes another: ag_2's and the fleet's stay as they were.
    await nodeA.write({
      upserts: [upsert('ag_1|cpu.total_pct', 'ag_1', bytes(9))],
      deletes: ['rule|ag_1|cpu.total_pct|>90'],
    });
    const a1 = await nodeB.loadAgent('ag_1');
    expect(keysOf(a1)).toEqual(['absent|ag_1', 'ag_1|cpu.total_pct', 'inv|inventory:ag_1:av.off']);
    expect([...a1.get('ag_1|cpu.total_pct')!]).toEqual([...bytes(9)]);
    expect(keysOf(await nodeB.loadAgent('ag_2'))).toEqual(['ag_2|cpu.total_pct', 'check|ag_2|ping']);
    expect((await nodeA.load()).size).toBe(5);
  });

  it('keeps a view into a larger buffer to its own bytes, and many keys in one write', async () => {
    const store = new DetectionStore(db());
    const big = new Uint8Array(64).map((_, i) => i);
    const upserts = [upsert('ag_v|view', 'ag_v', big.subarray(8, 24))];
    for (let i = 0; i < 2_500; i++) upserts.push(upsert(`ag_${i}|cpu`, `ag_${i}`, new Uint8Array([i & 255, i >> 8])));
    await store.write({ upserts, deletes: [] });
    const back = await store.load();
    expect(back.size).toBe(2_501);
    expect([...back.get('ag_v|view')!]).toEqual([...big.subarray(8, 24)]);
    expect([...(await store.loadAgent('ag_2499')).get('ag_2499|cpu')!]).toEqual([2499 & 255, 2499 >> 8]);
  });

  it("leaves the previous checkpoint whole when a write fails inside the caller's transaction", async () => {
    const store = new DetectionStore(db());
    await store.write({ upserts: [upsert('ag_1|cpu', 'ag_1', bytes(1))], deletes: [] });
    await expect(
      db().transaction(async () => {
        await store.write({ upserts: [upsert('ag_2|cpu', 'ag_2', bytes(2))], deletes: ['ag_1|cpu'] });
        throw new Error('the batch failed');
      }),
    ).rejects.toThrow('the batch failed');
    expect(keysOf(await store.load())).toEqual(['ag_1|cpu']);
  });
});

// Rows written before 0252 (no agent column) get their agent from the key, on both engines.
describeStores(
  'detection checkpoint of an older version',
  detectionMigrations.filter((m) => m.id !== '0252_detection_state_agent'),
  (db) => {
    it('migration 0252 backfills each key with its agent; absence keys stay fleet-wide', async () => {
      const old = [
        'ag_1|cpu.total_pct',
        'rule|ag_2|disk.C:.used_pct|>90',
        'check|ag_3|svc:spooler',
        'inv|inventory:ag_4:os.eol',
        'absent|ag_5',
      ];
      await db().runMany(
        'INSERT INTO detection_state (key, state) VALUES (?, ?)',
        old.map((k) => [k, Buffer.from([1])]),
      );
      await migrateSql(db(), detectionMigrations);
      const rows = await db().all<{ key: string; agent_id: string | null }>(
        'SELECT key, agent_id FROM detection_state ORDER BY key',
      );
      expect(Object.fromEntries(rows.map((r) => [r.key, r.agent_id]))).toEqual({
        'ag_1|cpu.total_pct': 'ag_1',
        'rule|ag_2|disk.C:.used_pct|>90': 'ag_2',
        'check|ag_3|svc:spooler': 'ag_3',
        'inv|inventory:ag_4:os.eol': 'ag_4',
        'absent|ag_5': null,
      });
      for (const r of rows) expect(agentOfKey(r.key)).toBe(r.agent_id);
      expect(keysOf(await new DetectionStore(db()).loadAgent('ag_5'))).toEqual(['absent|ag_5']);
    });
  },
);

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
      MIGRATIONS.filter((m) => m.id !== '0251_detection_state' && m.id !== '0252_detection_state_agent').map((m) =>
        m.id === OLD_0200.id ? OLD_0200 : m,
      ),
    );
    const ins = prepared(old, 'INSERT INTO detection_state (key, state) VALUES (?, ?)');
    for (const [k, v] of checkpoint) ins.run(k, Buffer.from(v));
    const before = tableSql(old);
    old.close();

    const db = openDatabase(file);
    expect(migrate(db, MIGRATIONS)).toEqual(['0251_detection_state', '0252_detection_state_agent']);
    const migrated = tableSql(db);
    expect(migrated).toEqual([before[0]!.replace(') WITHOUT ROWID', ', agent_id TEXT) WITHOUT ROWID')]);
    expect(keysOf(await new DetectionStore(sqlOf(db)).loadAgent('ag_1'))).toEqual([
      'ag_1|cpu.total_pct',
      'rule|ag_1|cpu.total_pct|>90',
    ]);
    const back = await new DetectionStore(sqlOf(db)).load();
    expect(back.size).toBe(checkpoint.size);
    for (const [k, v] of checkpoint) expect(Buffer.from(back.get(k)!).equals(Buffer.from(v))).toBe(true);
    db.close();

    // A database created today has the same table, declared by detection (not by metrics).
    const fresh = openDatabase(join(dir, 'new.db'));
    migrate(fresh, MIGRATIONS);
    expect(tableSql(fresh)).toEqual(migrated);
    const owner = prepared<[], { concern: string }>(
      fresh,
      "SELECT concern FROM schema_migrations WHERE id = '0251_detection_state'",
    ).get();
    expect(owner?.concern).toBe('detection');
    fresh.close();
  });
});
