/**
 * MetricsStore on SQLite and on PostgreSQL (day-partitioned raw samples there): every finite sample lands once with
 * its series, time and value; a batch seen before (agent, seq) is skipped whole, also when two writers send it at
 * once; roll-ups fold minutes and hours and merge into an existing bucket; reads cross a day (partition) boundary;
 * retention removes old raw samples (a whole partition on PostgreSQL); a sample older or newer than every partition
 * is still stored, and moves into its day's partition once that is created.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { DAY, partitionName } from './partitions.js';
import { HOUR, MetricsStore, MINUTE, metricsMigrations } from './store.js';

/** A batch of `n` samples of 3 metrics for one agent, values derived from time so each row is checkable. */
const batch = (agentId: string, seq: number, n: number, t0: number) => ({
  agentId,
  seq,
  samples: Array.from({ length: n }, (_, i) => ({
    time: t0 + i * 1000,
    values: { cpu: i, mem: i * 2, disk: i === 5 ? Number.NaN : i * 3 },
  })),
});

/** One sample of one metric. */
const one = (agentId: string, seq: number, time: number, value: number, name = 'cpu') => ({
  agentId,
  seq,
  samples: [{ time, values: { [name]: value } }],
});

/** A day start well inside the safe range, and a retention that keeps raw samples 7 days. */
const D = Date.UTC(2026, 11, 4);
const RETENTION = { rawMs: 7 * DAY, minuteMs: 30 * DAY, hourMs: 400 * DAY };

describeStores('MetricsStore', metricsMigrations, (db) => {
  /** Which table holds the samples at `ts` (PostgreSQL: the partition; SQLite: the one table). */
  const tableOf = async (ts: number) =>
    db().dialect === 'postgres'
      ? (await db().get<{ t: string }>('SELECT tableoid::regclass::text AS t FROM metric_samples WHERE ts = ?', [ts]))
          ?.t
      : (await db().get<{ n: number }>('SELECT count(*) AS n FROM metric_samples WHERE ts = ?', [ts]))?.n
        ? 'metric_samples'
        : undefined;

  it('stores every finite sample exactly once, across multi-row statements and the remainder', async () => {
    const store = new MetricsStore(db());
    await store.preparePartitions(D);
    // 3 agents × 157 samples × 3 metrics, minus 3 NaN = 1,410 rows: on SQLite seven statements of 200 and 10 more.
    const batches = ['a', 'b', 'c'].map((a, i) => batch(a, 1, 157, D + 1_000_000 + i));
    expect(await store.insertBatches(batches)).toHaveLength(3);
    for (const a of ['a', 'b', 'c']) {
      const cpu = await store.samples(a, 'cpu', D, D + 10_000_000);
      expect(cpu.map((r) => r.value)).toEqual(Array.from({ length: 157 }, (_, i) => i));
      const disk = await store.samples(a, 'disk', D, D + 10_000_000);
      expect(disk).toHaveLength(156); // the NaN is not a sample
      expect(disk.find((r) => r.value === 6 * 3)?.ts).toBe(disk[0]!.ts + 6 * 1000);
      expect((await store.samples(a, 'mem', D, D + 10_000_000)).at(-1)?.value).toBe(156 * 2);
    }
    expect(await store.samples('a', 'cpu', D, D + 1)).toHaveLength(0); // nothing before the first time
    expect(await store.samples('a', 'nope', D, D + 10_000_000)).toEqual([]);
    expect(await db().get<{ n: number }>('SELECT count(*) AS n FROM metric_samples')).toEqual({ n: 1410 });
  });

  it('skips a batch it has stored before (agent, seq), and keeps the new one beside it', async () => {
    const store = new MetricsStore(db());
    expect(await store.insertBatches([batch('a', 7, 10, D)])).toHaveLength(1);
    const again = await store.insertBatches([batch('a', 7, 10, D), batch('a', 8, 2, D + 50_000), batch('a', 8, 2, 0)]);
    expect(again.map((b) => b.seq)).toEqual([8]); // seq 8 twice in one call: the first is new, the second a resend
    expect(await store.samples('a', 'cpu', D, D + 100_000)).toHaveLength(12);
  });

  it('stores a batch sent by two writers at once once, under one series id', async () => {
    // Two stores (two nodes' worth of caches) on the same database, each in its own transaction.
    const [s1, s2] = [new MetricsStore(db()), new MetricsStore(db())];
    const write = (s: MetricsStore) => db().transaction(() => s.insertBatches([batch('ag', 1, 20, D)]));
    const [r1, r2] = await Promise.all([write(s1), write(s2)]);
    expect(r1.length + r2.length).toBe(1);
    expect(await s1.samples('ag', 'cpu', D, D + DAY)).toHaveLength(20);
    expect(await s2.samples('ag', 'cpu', D, D + DAY)).toHaveLength(20);
    expect((await s1.seriesOf('ag')).map((s) => s.name)).toEqual(['cpu', 'disk', 'mem']);
  });

  it('forgets a series created by a transaction that rolled back', async () => {
    const store = new MetricsStore(db());
    await expect(
      db().transaction(async () => {
        await store.insertBatches([one('a', 1, D, 1, 'gone')]);
        throw new Error('batch failed');
      }),
    ).rejects.toThrow('batch failed');
    expect(await store.seriesOf('a')).toEqual([]);
    // Another series now takes the number the rolled-back one had: the cache must not hand the old one out.
    await store.insertBatches([one('b', 1, D, 5, 'other')]);
    await store.insertBatches([one('a', 1, D + 1, 7, 'gone')]);
    expect((await store.samples('a', 'gone', D, D + DAY)).map((r) => r.value)).toEqual([7]);
    expect((await store.samples('b', 'other', D, D + DAY)).map((r) => r.value)).toEqual([5]);
  });

  it('rolls samples up into minutes and hours, and merges into an existing bucket', async () => {
    const store = new MetricsStore(db());
    await store.preparePartitions(D);
    // Minute 0: 1, 5, 3; minute 1: 10; hour 1, minute 0: 7.
    await store.insertBatches([
      { agentId: 'a', seq: 1, samples: [1, 5, 3].map((v, i) => ({ time: D + i * 1000, values: { cpu: v } })) },
      one('a', 2, D + MINUTE + 1, 10),
      one('a', 3, D + HOUR + 2, 7),
    ]);
    await store.rollupAndPrune(D + HOUR + 2 * MINUTE, RETENTION);
    expect(await store.rollups('a', 'cpu', MINUTE, D, D + DAY)).toEqual([
      { bucket: D, n: 3, avg: 3, min: 1, max: 5 },
      { bucket: D + MINUTE, n: 1, avg: 10, min: 10, max: 10 },
      { bucket: D + HOUR, n: 1, avg: 7, min: 7, max: 7 },
    ]);
    expect(await store.rollups('a', 'cpu', HOUR, D, D + DAY)).toEqual([
      { bucket: D, n: 4, avg: 19 / 4, min: 1, max: 10 },
    ]);
    expect(await store.rollupMark(MINUTE)).toBe(D + HOUR + 2 * MINUTE);
    expect(await store.rollupMark(HOUR)).toBe(D + HOUR);
    // A bucket already holding a roll-up (a node that rolled up before a late sample): counts add, min and max merge.
    const [series] = await store.seriesOf('a');
    await db().run(
      'INSERT INTO metric_rollups (resolution, series_id, bucket, n, sum, min, max) VALUES (?, ?, ?, 2, 0, -4, 2)',
      [MINUTE, series!.id, D + HOUR + 2 * MINUTE],
    );
    await store.insertBatches([
      {
        agentId: 'a',
        seq: 4,
        samples: [3, 9].map((v, i) => ({ time: D + HOUR + 2 * MINUTE + i, values: { cpu: v } })),
      },
    ]);
    await store.rollupAndPrune(D + HOUR + 3 * MINUTE, RETENTION);
    expect(await store.rollups('a', 'cpu', MINUTE, D + HOUR + 2 * MINUTE, D + DAY)).toEqual([
      { bucket: D + HOUR + 2 * MINUTE, n: 4, avg: 12 / 4, min: -4, max: 9 },
    ]);
    const ids = (await store.seriesOf('a')).map((s) => s.id);
    expect((await store.rollupsOf(ids, HOUR, D, D + DAY)).map((r) => [r.seriesId, r.bucket, r.n])).toEqual([
      [ids[0], D, 4],
    ]);
  });

  it('rolls up once when two nodes run housekeeping at the same time', async () => {
    const [s1, s2] = [new MetricsStore(db()), new MetricsStore(db())];
    await s1.preparePartitions(D); // (the first pass then creates none: DDL's locks would order the two by themselves)
    await s1.insertBatches([batch('a', 1, 120, D)]); // two minutes of one sample a second
    // The first node's pass is done but not committed when the second starts.
    let rolled = false;
    let commit!: () => void;
    const held = new Promise<void>((r) => {
      commit = r;
    });
    const first = db().transaction(async () => {
      await s1.rollupAndPrune(D + HOUR, RETENTION);
      rolled = true;
      await held;
    });
    while (!rolled) await new Promise((r) => setImmediate(r));
    const second = s2.rollupAndPrune(D + HOUR, RETENTION);
    // PostgreSQL: the second pass must be waiting on a lock (the rollup's, or without it the first's rows) before the
    // first commits. SQLite: it waits on the connection's mutex, nothing to observe.
    for (const end = Date.now() + 10_000; db().dialect === 'postgres'; ) {
      const waiting = await db().get<{ n: number }>('SELECT count(*) AS n FROM pg_locks WHERE NOT granted');
      if (waiting!.n > 0) break;
      if (Date.now() > end) throw new Error('the second pass never waited for the first');
      await new Promise((r) => setImmediate(r));
    }
    commit();
    await Promise.all([first, second]);
    expect((await s1.rollups('a', 'cpu', MINUTE, D, D + DAY)).map((r) => r.n)).toEqual([60, 60]);
  });

  it('keeps rolling up when an agent sends values whose sum no double holds', async () => {
    const store = new MetricsStore(db());
    await store.insertBatches([
      { agentId: 'a', seq: 1, samples: [1e308, 1e308, -1e308, 4].map((v, i) => ({ time: D + i, values: { x: v } })) },
    ]);
    await store.rollupAndPrune(D + 2 * MINUTE, RETENTION);
    expect(await store.rollups('a', 'x', MINUTE, D, D + DAY)).toEqual([{ bucket: D, n: 1, avg: 4, min: 4, max: 4 }]);
  });

  it('reads samples across a day boundary (two partitions on PostgreSQL) in time order', async () => {
    const store = new MetricsStore(db());
    await store.preparePartitions(D);
    const before = D + DAY - 30_000;
    const after = D + DAY + 30_000;
    await store.insertBatches([
      {
        agentId: 'a',
        seq: 1,
        samples: [before, after].map((time, i) => ({ time, values: { cpu: i, 'disk:/var': 9 } })),
      },
    ]);
    expect((await store.samples('a', 'cpu', D, D + 2 * DAY)).map((r) => [r.ts, r.value])).toEqual([
      [before, 0],
      [after, 1],
    ]);
    const ids = (await store.seriesOf('a')).map((s) => s.id);
    expect((await store.samplesOf(ids, before, after + 1)).map((r) => r.ts)).toEqual([before, before, after, after]);
    expect(await store.samplesOf(ids, before + 1, after)).toEqual([]);
    if (db().dialect === 'postgres') {
      expect(await tableOf(before)).toBe(partitionName(D));
      expect(await tableOf(after)).toBe(partitionName(D + DAY));
    }
  });

  it('drops raw samples past retention (a whole day partition on PostgreSQL) and keeps the rest', async () => {
    const store = new MetricsStore(db());
    await store.preparePartitions(D - 10 * DAY);
    await store.preparePartitions(D);
    await store.insertBatches([one('a', 1, D - 10 * DAY + 5, 1), one('a', 2, D + 5, 2)]);
    expect(await tableOf(D - 10 * DAY + 5)).toBeDefined();
    await store.rollupAndPrune(D + HOUR, RETENTION);
    expect((await store.samples('a', 'cpu', 0, D + DAY)).map((r) => r.value)).toEqual([2]);
    // The old sample's roll-up outlives it (minutes are kept 30 days).
    expect((await store.rollups('a', 'cpu', MINUTE, 0, D + DAY)).map((r) => r.bucket)).toEqual([D - 10 * DAY, D]);
    if (db().dialect === 'postgres') {
      const parts = await db().all<{ t: string }>(
        "SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'metric_samples_2%' ORDER BY tablename",
      );
      expect(parts.map((p) => p.t)).not.toContain(partitionName(D - 10 * DAY));
      expect(parts.map((p) => p.t)).toContain(partitionName(D));
    }
  });

  it('stores a sample older or newer than every partition, and moves it into its day once that exists', async () => {
    const store = new MetricsStore(db());
    await store.preparePartitions(D);
    const old = D - 20 * DAY;
    const ahead = D + 30 * DAY + 7;
    await store.insertBatches([one('a', 1, old, 1), one('a', 2, ahead, 2)]);
    expect((await store.samples('a', 'cpu', 0, D + 100 * DAY)).map((r) => r.value)).toEqual([1, 2]);
    if (db().dialect === 'postgres') expect(await tableOf(ahead)).toBe('metric_samples_default');
    // Time reaches the agent's clock: its day is created, and the sample moves in, still read once.
    await store.preparePartitions(ahead);
    expect((await store.samples('a', 'cpu', ahead, ahead + 1)).map((r) => r.value)).toEqual([2]);
    if (db().dialect === 'postgres') expect(await tableOf(ahead)).toBe(partitionName(D + 30 * DAY));
    // Retention removes the old one from wherever it waited.
    await store.rollupAndPrune(D + HOUR, RETENTION);
    expect((await store.samples('a', 'cpu', 0, D + 100 * DAY)).map((r) => r.value)).toEqual([2]);
  });

  it('lists series by name in byte order, whatever the database locale', async () => {
    const store = new MetricsStore(db());
    await store.insertBatches([
      { agentId: 'a', seq: 1, samples: [{ time: D, values: { 'disk.used_pct:/var': 1, 'disk.used_pct': 2, cpu: 3 } }] },
      one('b', 1, D, 4, 'zzz'),
    ]);
    expect((await store.seriesOf('a')).map((s) => s.name)).toEqual(['cpu', 'disk.used_pct', 'disk.used_pct:/var']);
  });
});
