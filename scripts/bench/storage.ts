/**
 * Storage benchmark (docs/0016-postgres.md): the stream's commit of a batch — events stored, then the agents'
 * cursors advanced — through the code before the SqlDb handle (two synchronous better-sqlite3 transactions, as
 * `outpost serve` ran it) and through the SqlDb code (one transaction for both), in the same run, interleaved round by
 * round, on a WAL file with `synchronous=FULL` (production) and in memory (CPU only). Then the same SqlDb code on
 * PostgreSQL when the server binaries are here (a throwaway cluster, fsync off: an upper bound, not a production
 * figure). Prints one JSON line per case. `pnpm bench:storage`; BENCH_ROUNDS, BENCH_AGENTS set the size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamEvent } from '@outpost/shared';
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
import { EventsStore, eventsMigrations } from '../../collector/src/events/index.js';
import { StreamStore, streamMigrations } from '../../collector/src/stream/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);
const MIGRATIONS = [...streamMigrations, ...eventsMigrations];
type Item = { agentId: string; msg: StreamEvent };

/** The stores as they were before SqlDb (commit 6ae171e), verbatim in their SQL and transactions. */
function legacy(db: Db) {
  const insert = prepared(
    db,
    'INSERT OR IGNORE INTO agent_events (agent_id, seq, time, kind, data, received_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const up = prepared(
    db,
    `INSERT INTO stream_cursors (agent_id, last_seq, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (agent_id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), updated_at = excluded.updated_at`,
  );
  return async (items: Item[], cursors: Map<string, number>, now: number) => {
    db.transaction(() => {
      for (const { agentId, msg } of items)
        insert.run(agentId, msg.seq, msg.time, msg.kind, JSON.stringify(msg.data), now);
    })();
    db.transaction(() => {
      for (const [agentId, seq] of cursors) up.run(agentId, seq, now);
    })();
  };
}

/** The SqlDb path, as StreamIngest now drives it: rows and cursors in one transaction. */
function current(db: SqlDb) {
  const events = new EventsStore(db);
  const stream = new StreamStore(db);
  return (items: Item[], cursors: Map<string, number>, now: number) =>
    stream.atomically(async () => {
      await events.insertBatch(items, now);
      await stream.commit(cursors, [], now);
    });
}

/** `size` events spread over AGENTS agents, continuing each agent's sequence. */
function batch(size: number, seqs: Map<string, number>): { items: Item[]; cursors: Map<string, number> } {
  const items: Item[] = [];
  const cursors = new Map<string, number>();
  for (let i = 0; i < size; i++) {
    const agentId = `ag_${i % AGENTS}`;
    const seq = (seqs.get(agentId) ?? 0) + 1;
    seqs.set(agentId, seq);
    cursors.set(agentId, seq);
    items.push({
      agentId,
      msg: { type: 'stream.event', seq, time: Date.now(), kind: 'bench', data: { i, note: 'x'.repeat(40) } },
    });
  }
  return { items, cursors };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Commit = (items: Item[], cursors: Map<string, number>, now: number) => Promise<unknown>;

/** Wall and CPU (user + system) milliseconds of one commit each. */
type Times = { wall: number[]; cpu: number[] };

/**
 * Times `rounds` commits of `size` events. CPU time is reported beside wall time: this machine is shared, and CPU time
 * moves less with other work's load than wall time does (fsync waits show in wall time only).
 */
async function time(commit: Commit, size: number, seqs: Map<string, number>, rounds: number): Promise<Times> {
  const out: Times = { wall: [], cpu: [] };
  for (let r = 0; r < rounds; r++) {
    const { items, cursors } = batch(size, seqs);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await commit(items, cursors, Date.now());
    out.wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    out.cpu.push((c.user + c.system) / 1000);
  }
  return out;
}

async function sqliteCase(where: 'file' | 'memory', size: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-storage-'));
  try {
    const open = async (name: string) => {
      const db = openDatabase(where === 'memory' ? ':memory:' : join(dir, `${name}.db`));
      await migrateSql(sqlOf(db), MIGRATIONS);
      return db;
    };
    const oldDb = await open('old');
    const newDb = await open('new');
    const old = legacy(oldDb);
    const neu = current(sqlOf(newDb));
    const oldSeqs = new Map<string, number>();
    const newSeqs = new Map<string, number>();
    await time(old, size, oldSeqs, 3); // warm-up: statements prepared, pages cached
    await time(neu, size, newSeqs, 3);
    const o: Times = { wall: [], cpu: [] };
    const n: Times = { wall: [], cpu: [] };
    const rounds = size <= 100 ? ROUNDS * 10 : ROUNDS;
    // Interleaved, so drift in the machine's load (shared with other work) hits both alike.
    for (let r = 0; r < rounds; r++) {
      const a = await time(old, size, oldSeqs, 1);
      const b = await time(neu, size, newSeqs, 1);
      o.wall.push(...a.wall);
      o.cpu.push(...a.cpu);
      n.wall.push(...b.wall);
      n.cpu.push(...b.cpu);
    }
    const ms = (x: number) => +x.toFixed(3);
    const [wo, wn, co, cn] = [median(o.wall), median(n.wall), median(o.cpu), median(n.cpu)];
    console.log(
      JSON.stringify({
        case: `sqlite-${where}`,
        batch: size,
        rounds,
        oldWallMs: ms(wo),
        newWallMs: ms(wn),
        wallNewOverOld: +(wn / wo).toFixed(3),
        oldCpuMs: ms(co),
        newCpuMs: ms(cn),
        cpuNewOverOld: +(cn / co).toFixed(3),
        newEventsPerSec: Math.round((size / wn) * 1000),
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
    await migrateSql(db, MIGRATIONS);
    const commit = current(db);
    for (const size of sizes) {
      const seqs = new Map<string, number>();
      await time(commit, size, seqs, 3);
      const ms = median((await time(commit, size, seqs, ROUNDS)).wall);
      console.log(
        JSON.stringify({
          case: 'postgres-fsync-off',
          batch: size,
          rounds: ROUNDS,
          newMsPerBatch: +ms.toFixed(3),
          newEventsPerSec: Math.round((size / ms) * 1000),
        }),
      );
    }
  } finally {
    await db.close();
  }
}

for (const size of [10, 5000]) {
  await sqliteCase('memory', size);
  await sqliteCase('file', size);
}
await postgresCase([10, 5000]);
