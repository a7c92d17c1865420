/**
 * `outpost migrate --to postgres://…` end to end: a real collector process fills its SQLite database (a real agent
 * enrolls and sends events, metrics and its inventory; a technician opens an incident; the audit log records it all),
 * then the built CLI copies it into an empty database of the run's PostgreSQL cluster. Every table's rows are equal
 * on both sides (compared as sets), identities continue past the copied ids, and the password of the URL is printed
 * nowhere. Refused: while the collector runs, and a second time (the target holds data, nothing written). A copy that
 * fails half-way (a value PostgreSQL cannot store, in a late table) leaves the target without a single table.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { afterAll, describe, expect, it } from 'vitest';
import { tablesInDependencyOrder } from '../../collector/src/db/copy-to-postgres.js';
import { openDatabase, prepared } from '../../collector/src/db/database.js';
import { PostgresSql } from '../../collector/src/db/postgres-sql.js';
import { agentInstall, enrollAgent, runAgent } from '../support/agent.js';
import { outpostBin, spawnNode, tempDir } from '../support/collector.js';
import { freshPostgres, postgresUnavailable, stopPostgresAfterAll } from '../support/postgres.js';
import { bootstrap, freePort, startCollectorProcess } from '../support/process-collector.js';

stopPostgresAfterAll();
const dir = tempDir('e2e-migrate');
afterAll(() => dir[Symbol.dispose]());

const PASSWORD = 's3cret-pw-never-printed';
/** The cluster trusts local connections, so a password in the URL is accepted and ignored: what must stay hidden. */
const withPassword = (url: string) => url.replace('postgres://postgres@', `postgres://postgres:${PASSWORD}@`);

/** Runs the built `outpost migrate`; returns its exit code and output. */
async function migrateCli(dataDir: string, to: string): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnNode(outpostBin, ['migrate', '--data-dir', dataDir, '--to', to]);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

/** A row as comparable text: Buffers as hex, integers and reals as numbers, whichever engine read them. */
const canonical = (row: Record<string, unknown>) =>
  JSON.stringify(
    Object.keys(row)
      .sort()
      .map((k) => {
        const v = row[k];
        return [k, Buffer.isBuffer(v) ? `x${v.toString('hex')}` : typeof v === 'bigint' ? Number(v) : v];
      }),
  );

async function publicTables(pg: PostgresSql): Promise<string[]> {
  return (
    await pg.all<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
  ).map((t) => t.name);
}

describe.skipIf(postgresUnavailable)('outpost migrate --to postgres://', () => {
  it('copies a real collector’s database whole, refuses a running source and a second run, and a failed copy leaves nothing', async () => {
    const dataDir = join(dir.path, 'data');
    const file = join(dataDir, 'outpost.db');
    const serve = await startCollectorProcess(dataDir, await freePort());
    const agentDir = join(dir.path, 'agent');
    const target = withPassword(await freshPostgres());
    const pg = new PostgresSql(target);
    // One handle for the whole test (better-sqlite3's are never collected: collector/src/db/database.ts).
    const sqlite = openDatabase(file);
    try {
      const { admin, token, clientId, siteId } = await bootstrap(serve);
      const install = agentInstall(agentDir, { inventory: true });
      const enrolled = await enrollAgent(install, serve.apiUrl, token, serve.fingerprint);
      expect(enrolled.code).toBe(0);
      install.env = { ...install.env, OUTPOST_METRICS_INTERVAL_MS: '200' };
      await using agent = runAgent(install);
      await agent.waitFor(/"inventory":\{"reason":"initial"/, 30_000);
      await apiCall(admin, 'POST', '/api/v1/incidents', {
        clientId,
        siteId,
        title: 'Accounting cannot print',
        type: 'printing',
        impact: 2,
        urgency: 1,
      });
      // Read beside the running collector (WAL): wait until every kind of row the test names is stored.
      const n = (t: string) => prepared<[], { n: number }>(sqlite, `SELECT count(*) AS n FROM ${t}`).get()!.n;
      const counts = () => ({
        events: n('agent_events'),
        metrics: n('metric_samples'),
        inventory: n('inv_rows'),
        incidents: n('incidents'),
        audit: n('audit_log'),
      });
      await expect
        .poll(() => Object.values(counts()).every((n) => n > 0), { timeout: 20_000, interval: 200 })
        .toBe(true);

      // While the collector serves the file: refused, the target untouched.
      const busy = await migrateCli(dataDir, target);
      expect(busy.code).toBe(1);
      expect(busy.err).toContain('OUTPOST_E_STORAGE_IN_USE');
      expect(await publicTables(pg)).toEqual([]);

      await agent.kill('SIGTERM');
      await serve.proc.kill('SIGTERM');
      expect(existsSync(`${file}-serving`)).toBe(false);

      const copied = await migrateCli(dataDir, target);
      expect(copied.err).toBe('');
      expect(copied.code).toBe(0);
      expect(copied.out).toMatch(/^TABLE\s+SQLITE ROWS\s+POSTGRESQL ROWS$/m);
      expect(copied.out).toMatch(/every count matches/);
      expect(copied.out + copied.err).not.toContain(PASSWORD);
      expect(copied.out).toContain('postgres://postgres:***@');

      // Every table: the same rows on both sides, as sets (PostgreSQL returns them in no particular order).
      {
        const tables = tablesInDependencyOrder(sqlite);
        expect(tables).toEqual(
          expect.arrayContaining(['agent_events', 'inv_rows', 'incidents', 'audit_log', 'agents']),
        );
        let rows = 0;
        for (const table of tables) {
          const stmt = prepared<[], Record<string, unknown>>(sqlite, `SELECT * FROM "${table}"`);
          stmt.safeIntegers(true);
          const fromSqlite = stmt.all().map(canonical).sort();
          const fromPg = (await pg.all<Record<string, unknown>>(`SELECT * FROM "${table}"`)).map(canonical).sort();
          expect(fromPg, table).toEqual(fromSqlite);
          expect(copied.out).toMatch(new RegExp(`^${table}\\s+${fromSqlite.length}\\s+${fromSqlite.length}$`, 'm'));
          rows += fromSqlite.length;
        }
        expect(rows).toBeGreaterThan(50);

        // Identities continue past the copied ids: a new row never collides with a copied one.
        const identities = await pg.all<{ table: string; column: string }>(
          'SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns WHERE table_schema = \'public\' AND is_identity = \'YES\'',
        );
        expect(identities.length).toBeGreaterThan(0);
        for (const { table, column } of identities) {
          const max = (await pg.get<{ m: number | null }>(`SELECT MAX("${column}") AS m FROM "${table}"`))?.m ?? 0;
          const next = await pg.get<{ n: number }>('SELECT nextval(pg_get_serial_sequence(?, ?)) AS n', [
            `"${table}"`,
            column,
          ]);
          expect(next?.n, `${table}.${column}`).toBeGreaterThan(max);
        }

        // A second run: refused, nothing written.
        const before = (await pg.get<{ n: number }>('SELECT count(*) AS n FROM audit_log'))?.n;
        const again = await migrateCli(dataDir, target);
        expect(again.code).toBe(1);
        expect(again.err).toContain('OUTPOST_E_STORAGE_NOT_EMPTY');
        expect(again.err).not.toContain(PASSWORD);
        expect((await pg.get<{ n: number }>('SELECT count(*) AS n FROM audit_log'))?.n).toBe(before);

        // Half-way: a copy of the database with a value PostgreSQL refuses (text in an INTEGER column; SQLite keeps
        // it) in the last table that has rows, so that every table before it was copied when it fails.
        const brokenDir = join(dir.path, 'broken');
        const brokenFile = join(brokenDir, 'outpost.db');
        mkdirSync(brokenDir);
        prepared(sqlite, 'VACUUM INTO ?').run(brokenFile);
        const broken = openDatabase(brokenFile);
        let spoiled: string | undefined;
        try {
          for (const table of [...tables].reverse()) {
            if (table === 'audit_log') continue; // append-only: its trigger refuses the UPDATE
            if (prepared<[], { n: number }>(broken, `SELECT count(*) AS n FROM "${table}"`).get()!.n === 0) continue;
            const column = prepared<[string], { name: string }>(
              broken,
              "SELECT name FROM pragma_table_info(?) WHERE type = 'INTEGER' AND pk = 0",
            ).all(table)[0]?.name;
            if (!column) continue;
            // Every row holding the first row's value (some tables have no rowid); a constraint may refuse it.
            try {
              prepared(
                broken,
                `UPDATE "${table}" SET "${column}" = 'not a number' WHERE "${column}" IS (SELECT "${column}" FROM "${table}" LIMIT 1)`,
              ).run();
            } catch {
              continue;
            }
            spoiled = table;
            break;
          }
        } finally {
          broken.close();
        }
        expect(spoiled).toBeDefined();
        expect(tables.indexOf(spoiled!)).toBeGreaterThan(tables.length / 3);
        const emptyTarget = await freshPostgres();
        const failed = await migrateCli(brokenDir, emptyTarget);
        expect(failed.code).toBe(1);
        expect(failed.err).toContain(`Copying table ${spoiled} failed`);
        const after = new PostgresSql(emptyTarget);
        try {
          expect(await publicTables(after)).toEqual([]);
        } finally {
          await after.close();
        }
      }
    } finally {
      sqlite.close();
      await pg.close();
      await serve.proc.kill('SIGKILL');
    }
  }, 120_000);
});
