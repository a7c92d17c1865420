/**
 * A throwaway PostgreSQL 15 cluster for tests: `initdb` + `pg_ctl` as the `postgres` user (the server refuses to run
 * as root, and CI runs as root), data directory and unix socket in a temporary directory, a free loopback TCP port,
 * fsync off (a test cluster never outlives its run). One per test run when the vitest global setup
 * (test/support/services.setup.ts) or `.ci/run` started it and named it in OUTPOST_TEST_PG_URL; one per file when a
 * file runs without either. Each file or suite takes a fresh database from it (`createDatabaseAt`, about 0.1 s).
 * `test/support/postgres.ts` re-exports this for the cross-package tests.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const BIN = process.env.OUTPOST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * The maintenance database of a cluster started for the whole run (`postgres://postgres@127.0.0.1:PORT/postgres`),
 * when one was: by `.ci/run` or the vitest global setup. Read at call time: the global setup sets it after load.
 */
export function sharedClusterUrl(): string | undefined {
  return process.env.OUTPOST_TEST_PG_URL || undefined;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export const postgresUnavailable: string | undefined = (() => {
  if (sharedClusterUrl()) return undefined;
  if (!existsSync(join(BIN, 'initdb')))
    return `no PostgreSQL server binaries in ${BIN} (apt-get install postgresql-15)`;
  if (process.platform !== 'linux') return 'the PostgreSQL test cluster is started on Linux only';
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root and there is no postgres user to run the server as';
    }
  }
  return undefined;
})();

/** A running cluster; `url(db)` is a connection string for one of its databases. */
export interface PgCluster extends AsyncDisposable {
  readonly port: number;
  url(database: string): string;
  /** Creates an empty database and returns its connection string. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a server binary as the postgres user when we are root (a no-op wrapper otherwise). */
async function asPostgres(bin: string, args: string[]): Promise<void> {
  const root = process.getuid?.() === 0;
  const [cmd, argv] = root ? ['runuser', ['-u', 'postgres', '--', join(BIN, bin), ...args]] : [join(BIN, bin), args];
  await run(cmd, argv, { timeout: 60_000 });
}

/** Replaces the database of a connection string (the rest, port and user, stays). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * Creates an empty database on the cluster whose maintenance database `adminUrl` names, and returns its connection
 * string. Over SQL rather than the createdb binary: no process to start, a tenth of the time.
 */
export async function createDatabaseAt(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return withDatabase(adminUrl, name);
}

/** Starts a cluster (about 1–2 s: initdb dominates). Throws when `postgresUnavailable` says why. */
export async function startPgCluster(): Promise<PgCluster> {
  if (postgresUnavailable) throw new Error(postgresUnavailable);
  const dir = mkdtempSync(join(tmpdir(), 'outpost-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  let started = false;
  // A worker that exits without running its afterAll hooks still takes its server down with it.
  const onExit = () => {
    if (!started) return;
    const args = ['-D', data, '-m', 'immediate', 'stop'];
    const root = process.getuid?.() === 0;
    try {
      if (root) execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, 'pg_ctl'), ...args], { stdio: 'ignore' });
      else execFileSync(join(BIN, 'pg_ctl'), args, { stdio: 'ignore' });
    } catch {
      // Already gone: nothing to stop.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.removeListener('exit', onExit);
    if (started) {
      started = false;
      await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await asPostgres('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--locale=C.UTF-8',
    ]);
    const opts = `-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c max_connections=300`;
    await asPostgres('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
    started = true;
  } catch (err) {
    await stop();
    throw err;
  }
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
    createDatabase: (name) => createDatabaseAt(url('postgres'), name),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
