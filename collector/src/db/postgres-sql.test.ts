/**
 * PostgreSQL sessions that a paused or wedged node leaves idle inside a transaction: the server ends them after the
 * bound, which frees the rows they locked (a fenced write's lease row), the transaction fails with an error instead
 * of crashing the process, and the pool goes on serving.
 */
import { expect, it } from 'vitest';
import { freshPostgres, stopPostgresAfterAll } from './dialects.fixture.js';
import { postgresUnavailable } from './pg-cluster.fixture.js';
import { PostgresSql } from './postgres-sql.js';

stopPostgresAfterAll();

it.skipIf(postgresUnavailable !== undefined)(
  'ends a transaction left idle past the bound, frees its locks, and keeps the pool serving',
  async () => {
    const url = await freshPostgres();
    const paused = new PostgresSql(url, { idleInTransactionMs: 300 });
    const other = new PostgresSql(url);
    try {
      await other.exec('CREATE TABLE leases_t (name TEXT PRIMARY KEY, holder TEXT NOT NULL)');
      await other.run("INSERT INTO leases_t VALUES ('incidents', 'node-a')");
      let locked!: () => void;
      const haveLock = new Promise<void>((r) => {
        locked = r;
      });
      const stale = paused.transaction(async () => {
        await paused.get("SELECT holder FROM leases_t WHERE name = 'incidents' FOR SHARE");
        locked();
        // The holder stops here (a GC pause, SIGSTOP, a stalled VM) with the row share-locked.
        await new Promise((r) => setTimeout(r, 1_500));
        await paused.run("UPDATE leases_t SET holder = 'stale' WHERE name = 'incidents'");
      });
      const outcome = stale.then(
        () => 'committed',
        (err: Error) => err.message,
      );
      await haveLock;
      // The takeover's UPDATE waits for the share lock, then goes through once the server ended the idle session.
      const t0 = Date.now();
      await other.run("UPDATE leases_t SET holder = 'node-b' WHERE name = 'incidents'");
      const waited = Date.now() - t0;
      expect(waited).toBeGreaterThanOrEqual(200);
      expect(waited).toBeLessThan(1_400);
      expect(await outcome).not.toBe('committed');
      expect(await other.get("SELECT holder FROM leases_t WHERE name = 'incidents'")).toEqual({ holder: 'node-b' });
      // The pool dropped the dead client and serves the next caller, inside a transaction too.
      expect(await paused.get('SELECT 1 AS one')).toEqual({ one: 1 });
      expect(
        await paused.transaction(() => paused.get<{ n: number }>('SELECT count(*)::int AS n FROM leases_t')),
      ).toEqual({
        n: 1,
      });
    } finally {
      await paused.close();
      await other.close();
    }
  },
  30_000,
);
