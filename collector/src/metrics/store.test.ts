/**
 * MetricsStore.insertBatches on a real SQLite file: every finite sample lands once with its series, time and value,
 * whether it goes in a multi-row statement or the remainder; a batch seen before (agent, seq) is skipped whole;
 * non-finite values are dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, migrate, openDatabase } from '../db/index.js';
import { MetricsStore, metricsMigrations } from './store.js';

describe('MetricsStore.insertBatches', () => {
  let dir = '';
  let db: Db;
  let store: MetricsStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-metrics-'));
    db = openDatabase(join(dir, 'm.db'));
    migrate(db, metricsMigrations);
    store = new MetricsStore(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A batch of `n` samples of 3 metrics for one agent, values derived from time so each row is checkable. */
  const batch = (agentId: string, seq: number, n: number, t0: number) => ({
    agentId,
    seq,
    samples: Array.from({ length: n }, (_, i) => ({
      time: t0 + i * 1000,
      values: { cpu: i, mem: i * 2, disk: i === 5 ? Number.NaN : i * 3 },
    })),
  });

  it('stores every finite sample exactly once, across multi-row statements and the remainder', async () => {
    // 3 agents × 157 samples × 3 metrics, minus 3 NaN = 1,410 rows: seven statements of 200 and a remainder of 10.
    const batches = ['a', 'b', 'c'].map((a, i) => batch(a, 1, 157, 1_000_000 + i));
    expect(await store.insertBatches(batches)).toHaveLength(3);
    for (const a of ['a', 'b', 'c']) {
      const cpu = await store.samples(a, 'cpu', 0, 10_000_000);
      expect(cpu.map((r) => r.value)).toEqual(Array.from({ length: 157 }, (_, i) => i));
      const disk = await store.samples(a, 'disk', 0, 10_000_000);
      expect(disk).toHaveLength(156); // the NaN is not a sample
      expect(disk.find((r) => r.value === 6 * 3)?.ts).toBe(disk[0]!.ts + 6 * 1000);
      expect((await store.samples(a, 'mem', 0, 10_000_000)).at(-1)?.value).toBe(156 * 2);
    }
    const total = (await store.samples('a', 'cpu', 0, 1)).length; // nothing before the first time
    expect(total).toBe(0);
  });

  it('skips a batch it has stored before (agent, seq), and keeps the new one beside it', async () => {
    expect(await store.insertBatches([batch('a', 7, 10, 0)])).toHaveLength(1);
    const again = await store.insertBatches([batch('a', 7, 10, 0), batch('a', 8, 2, 50_000)]);
    expect(again.map((b) => b.seq)).toEqual([8]);
    expect(await store.samples('a', 'cpu', 0, 100_000)).toHaveLength(12);
  });
});
