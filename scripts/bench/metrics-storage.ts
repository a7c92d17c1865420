/**
 * Metrics storage benchmark (docs/0016-postgres.md, "metrics"): samples stored per second by
 * `MetricsStore.insertBatches` for one agent's batch (one sampling round of METRICS metrics) and for a stream batch
 * of AGENTS agents' at once. SQLite (WAL file with synchronous=FULL, and in memory) runs the store before the SqlDb
 * port (its SQL and transaction verbatim, commit 7e75c3f) and after it, interleaved round by round in one run;
 * PostgreSQL (a throwaway cluster, fsync off: an upper bound, not a production figure) runs the ported store on the
 * day-partitioned table. Series ids are cached (warm-up rounds first): the steady state of a running collector.
 * Prints one JSON line per case. `npx tsx --conditions=source scripts/bench/metrics-storage.ts`; BENCH_ROUNDS,
 * BENCH_AGENTS, BENCH_METRICS set the size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Db,
  migrateSql,
  openDatabase,
  PostgresSql,
  prepared,
  type SqlDb,
  sqlOf,
} from '../../collector/src/db/index.js';
import { postgresUnavailable, startPgCluster } from '../../collector/src/db/pg-cluster.fixture.js';
import { MetricsStore, metricsMigrations } from '../../collector/src/metrics/store.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
const METRICS = Number(process.env.BENCH_METRICS ?? 50);
type Batch = { agentId: string; seq: number; samples: { time: number; values: Record<string, number> }[] };
type Insert = (batches: Batch[]) => Promise<unknown>;

/** The store's insert before the port (commit 7e75c3f), verbatim in its SQL, statement sizes and transaction. */
function legacy(db: Db): Insert {
  const INSERT_ROWS = 200;
  const series = new Map<string, number>();
  const seriesId = (agentId: string, name: string): number => {
    const k = `${agentId}\u0000${name}`;
    const known = series.get(k);
    if (known !== undefined) return known;
    prepared(db, 'INSERT OR IGNORE INTO metric_series (agent_id, name) VALUES (?, ?)').run(agentId, name);
    const row = prepared<[string, string], { id: number }>(
      db,
      'SELECT id FROM metric_series WHERE agent_id = ? AND name = ?',
    ).get(agentId, name)!;
    series.set(k, row.id);
    return row.id;
  };
  const many = `INSERT INTO metric_samples (series_id, ts, value) VALUES ${Array.from({ length: INSERT_ROWS }, () => '(?, ?, ?)').join(', ')}`;
  return async (batches) => {
    const mark = prepared(db, 'INSERT OR IGNORE INTO metric_batches (agent_id, seq) VALUES (?, ?)');
    const insertOne = prepared(db, 'INSERT INTO metric_samples (series_id, ts, value) VALUES (?, ?, ?)');
    const insertMany = prepared(db, many);
    const params: number[] = [];
    db.transaction(() => {
      for (const b of batches) {
        if (mark.run(b.agentId, b.seq).changes === 0) continue;
        for (const s of b.samples) {
          for (const name in s.values) {
            const v = s.values[name]!;
            if (!Number.isFinite(v)) continue;
            params.push(seriesId(b.agentId, name), s.time, v);
            if (params.length === INSERT_ROWS * 3) {
              insertMany.run(params);
              params.length = 0;
            }
          }
        }
      }
      for (let i = 0; i < params.length; i += 3) insertOne.run(params[i], params[i + 1], params[i + 2]);
    })();
  };
}

/** The ported store, as the stream sink drives it. */
function current(db: SqlDb): Insert {
  const store = new MetricsStore(db);
  return (batches) => store.insertBatches(batches);
}

/** One sampling round of METRICS metrics from each of `agents` agents, continuing each agent's sequence. */
function batches(agents: number, seqs: Map<string, number>): Batch[] {
  const now = Date.now();
  return Array.from({ length: agents }, (_, a) => {
    const agentId = `ag_${a}`;
    const seq = (seqs.get(agentId) ?? 0) + 1;
    seqs.set(agentId, seq);
    const values: Record<string, number> = {};
    for (let m = 0; m < METRICS; m++) values[`bench.m${m}`] = (seq * 7 + m) % 100;
    return { agentId, seq, samples: [{ time: now, values }] };
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall ms of one insert of `agents` agents' batches. */
async function once(insert: Insert, agents: number, seqs: Map<string, number>): Promise<number> {
  const b = batches(agents, seqs);
  const t0 = performance.now();
  await insert(b);
  return performance.now() - t0;
}

const perSec = (agents: number, ms: number) => Math.round(((agents * METRICS) / ms) * 1000);

async function sqliteCase(where: 'file' | 'memory', agents: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-metrics-'));
  try {
    const open = async (name: string) => {
      const db = openDatabase(where === 'memory' ? ':memory:' : join(dir, `${name}.db`));
      await migrateSql(sqlOf(db), metricsMigrations);
      return db;
    };
    const [oldDb, newDb] = [await open('old'), await open('new')];
    const [old, neu] = [legacy(oldDb), current(sqlOf(newDb))];
    const [oldSeqs, newSeqs] = [new Map<string, number>(), new Map<string, number>()];
    for (let i = 0; i < 3; i++) {
      await once(old, agents, oldSeqs);
      await once(neu, agents, newSeqs);
    }
    const o: number[] = [];
    const n: number[] = [];
    const rounds = agents === 1 ? ROUNDS * 10 : ROUNDS;
    // Interleaved, so drift in the machine's load (shared with other work) hits both alike.
    for (let r = 0; r < rounds; r++) {
      o.push(await once(old, agents, oldSeqs));
      n.push(await once(neu, agents, newSeqs));
    }
    const [wo, wn] = [median(o), median(n)];
    console.log(
      JSON.stringify({
        case: `sqlite-${where}`,
        agents,
        samplesPerInsert: agents * METRICS,
        rounds,
        oldMs: +wo.toFixed(3),
        newMs: +wn.toFixed(3),
        newOverOld: +(wn / wo).toFixed(3),
        oldSamplesPerSec: perSec(agents, wo),
        newSamplesPerSec: perSec(agents, wn),
      }),
    );
    oldDb.close();
    newDb.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresCase(sizes: number[]): Promise<void> {
  if (postgresUnavailable) {
    console.log(JSON.stringify({ case: 'postgres', skipped: postgresUnavailable }));
    return;
  }
  await using cluster = await startPgCluster();
  const db = new PostgresSql(await cluster.createDatabase('bench'));
  try {
    await migrateSql(db, metricsMigrations);
    await new MetricsStore(db).preparePartitions(Date.now());
    const insert = current(db);
    for (const agents of sizes) {
      const seqs = new Map<string, number>();
      for (let i = 0; i < 3; i++) await once(insert, agents, seqs);
      const rounds = agents === 1 ? ROUNDS * 10 : ROUNDS;
      const ms: number[] = [];
      for (let r = 0; r < rounds; r++) ms.push(await once(insert, agents, seqs));
      const m = median(ms);
      console.log(
        JSON.stringify({
          case: 'postgres-fsync-off',
          agents,
          samplesPerInsert: agents * METRICS,
          rounds,
          newMs: +m.toFixed(3),
          newSamplesPerSec: perSec(agents, m),
        }),
      );
    }
  } finally {
    await db.close();
  }
}

for (const agents of [1, AGENTS]) {
  await sqliteCase('memory', agents);
  await sqliteCase('file', agents);
}
await postgresCase([1, AGENTS]);
