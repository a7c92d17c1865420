/**
 * Child process of failover.test.ts: one node contending for the lease `failover` on a real PostgreSQL database. While
 * it holds the lease its work records a run row (holder, epoch, the database's time) every 50 ms, each through the
 * fencing check, so the parent can tell from the table alone who ran when and under which epoch.
 */
import pino from 'pino';
import { PostgresSql } from '../db/index.js';
import { LeasedWork, leaseTiming } from './leased-work.js';
import { LeaseStore } from './store.js';

const [url, nodeId, ttl] = process.argv.slice(2) as [string, string, string];
const db = new PostgresSql(url, { max: 4 });
const store = new LeaseStore(db);
const logger = pino({ level: process.env.LEASE_LOG ?? 'silent' }, pino.destination(2));
let timer: NodeJS.Timeout | undefined;
let inFlight: Promise<unknown> = Promise.resolve();

const work = new LeasedWork({
  name: 'failover',
  store,
  nodeId,
  logger,
  timing: leaseTiming(Number(ttl)),
  work: {
    name: 'failover',
    start(lease) {
      process.stdout.write(`running ${lease.grant.epoch}\n`);
      timer = setInterval(() => {
        // The local check first (no round trip), then the database's, in the write's own transaction.
        if (!lease.valid()) return;
        inFlight = store
          .fenced(lease.grant, async () => {
            await db.run(
              'INSERT INTO lease_runs (holder, epoch, at_ms) VALUES (?, ?, (extract(epoch from clock_timestamp()) * 1000)::bigint)',
              [nodeId, lease.grant.epoch],
            );
          })
          .catch((err: unknown) => logger.error({ err }, 'run failed'));
      }, 50);
    },
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  },
});
work.start();
// The lease's timers are unref'd (a collector lives on through its listeners); this node has none, so it keeps itself.
setInterval(() => {}, 3_600_000);
process.stdout.write('ready\n');
