/**
 * Child process of ingest-kill.test.ts: runs the real stream ingest on a real database (a SQLite file or a PostgreSQL
 * URL), and stops for good half-way through a batch — after the events sink stored its rows, before the cursors —
 * printing how many events it sees inside its transaction, so the parent can SIGKILL it right there.
 */
import type { SequencedMessage } from '@outpost/shared';
import pino from 'pino';
import { migrateSql, openDatabase, PostgresSql, type SqlDb, sqlOf } from '../db/index.js';
import { EventsStore, eventsMigrations } from '../events/index.js';
import { StreamIngest } from './ingest.js';
import { StreamStore, streamMigrations } from './store.js';

const [kind, target] = process.argv.slice(2) as ['sqlite' | 'postgres', string];
const db: SqlDb = kind === 'sqlite' ? sqlOf(openDatabase(target)) : new PostgresSql(target);
await migrateSql(db, [...streamMigrations, ...eventsMigrations]);
const events = new EventsStore(db);
const ingest = new StreamIngest({
  store: new StreamStore(db),
  clock: { now: () => Date.now() },
  logger: pino({ level: 'silent' }),
});
ingest.registerSink('stream.event', async (items, now) => {
  await events.insertBatch(items, now);
});
ingest.registerSink('metrics.batch', async () => {
  const seen = await events.count('ag_1');
  process.stdout.write(`between ${seen.total}\n`);
  // Never returns: the parent kills this process with the batch's transaction open.
  setInterval(() => {}, 60_000);
  await new Promise(() => {});
});
const peer = { agentId: 'ag_1', cursor: 0, ack: () => {}, fail: () => {} };
const ev = (seq: number): SequencedMessage => ({ type: 'stream.event', seq, time: 1, kind: 'test', data: { seq } });
ingest.submit(peer, ev(1));
ingest.submit(peer, ev(2));
ingest.submit(peer, { type: 'metrics.batch', seq: 3, samples: [{ time: 1, values: { 'cpu.total_pct': 1 } }] });
