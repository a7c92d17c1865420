/**
 * `openStorage`: what `buildApp` opens. SQLite in the data directory as always (and the serving marker `outpost
 * migrate` checks); PostgreSQL from `storage.url`, migrated under the advisory lock by nodes starting together, with
 * the pool size asked for, and the password of the URL in no log line and no error.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../app.js';
import { freshPostgres, stopPostgresAfterAll } from './dialects.fixture.js';
import { openStorage, redactUrl } from './open-storage.js';
import { postgresUnavailable } from './pg-cluster.fixture.js';
import { servingMarkerOf, servingProcess } from './sqlite-lock.js';

stopPostgresAfterAll();
const dir = mkdtempSync(join(tmpdir(), 'outpost-open-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A logger whose lines land in `lines`, as text. */
function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const PASSWORD = 'pw-in-no-log-line';

describe('openStorage on SQLite', () => {
  it('opens and migrates outpost.db in the data directory, marked as served until it closes', async () => {
    const dataDir = join(dir, 'sqlite');
    const { logger, lines } = capture();
    const storage = await openStorage({ dataDir, storage: {} }, MIGRATIONS, logger);
    const file = join(dataDir, 'outpost.db');
    expect(storage.where).toBe(file);
    expect(storage.raw).toBeDefined();
    expect(storage.sql.dialect).toBe('sqlite');
    expect(lines.join('')).toContain('database migrated');
    // The marker names this process (the check is for other processes: migrate runs as its own).
    expect(servingProcess(file)).toBeUndefined();
    expect(JSON.parse(readFileSync(servingMarkerOf(file), 'utf8'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
    });
    await storage.close();
    expect(existsSync(servingMarkerOf(file))).toBe(false);
  });

  it('ignores a marker a killed collector left, and names a live one', async () => {
    const file = join(dir, 'marker.db');
    // A process that has exited: its pid is free.
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = await new Promise<number>((r) => child.once('exit', () => r(child.pid!)));
    writeFileSync(servingMarkerOf(file), JSON.stringify({ pid, host: hostname(), since: 1 }));
    expect(servingProcess(file)).toBeUndefined();
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(servingMarkerOf(file), JSON.stringify({ pid: live.pid, host: hostname(), since: 1 }));
      expect(servingProcess(file)).toMatchObject({ pid: live.pid });
    } finally {
      live.kill('SIGKILL');
    }
  });
});

describe.skipIf(postgresUnavailable)('openStorage on PostgreSQL', () => {
  it('migrates once when nodes start together, with the pool asked for, and logs no password', async () => {
    const url = (await freshPostgres()).replace('postgres://postgres@', `postgres://postgres:${PASSWORD}@`);
    const a = capture();
    const b = capture();
    const [one, two] = await Promise.all([
      openStorage({ dataDir: ':memory:', storage: { url, pool: 3 } }, MIGRATIONS, a.logger),
      openStorage({ dataDir: ':memory:', storage: { url, pool: 3 } }, MIGRATIONS, b.logger),
    ]);
    try {
      expect(one.sql.dialect).toBe('postgres');
      expect(one.raw).toBeUndefined();
      expect(one.where).toBe(redactUrl(url));
      expect(one.where).not.toContain(PASSWORD);
      // Exactly one of the two applied the migrations; the other found them applied.
      const migrated = [a.lines, b.lines].filter((l) => l.join('').includes('database migrated'));
      expect(migrated).toHaveLength(1);
      const applied = await one.sql.get<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
      expect(applied?.n).toBe(MIGRATIONS.length);
      expect([...a.lines, ...b.lines].join('')).not.toContain(PASSWORD);
      expect(a.lines.join('')).toContain('"pool":3');
      // The pool holds at most 3 connections: a fourth concurrent transaction waits for one of them.
      await two.close();
      const watcher = new pg.Client({ connectionString: url });
      await watcher.connect();
      const backends = async () =>
        Number(
          (
            await watcher.query<{ n: string }>(
              'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
            )
          ).rows[0]?.n,
        );
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const txs = Array.from({ length: 4 }, () =>
        one.sql.transaction(async () => {
          await one.sql.get('SELECT 1 AS one');
          await held;
        }),
      );
      await expect.poll(backends, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
      expect(await backends()).toBe(3);
      release();
      await Promise.all(txs);
      await watcher.end();
    } finally {
      await one.close();
      await two.close().catch(() => {});
    }
  });

  it('refuses an unreachable server with a coded error that names it without the password', async () => {
    const { logger, lines } = capture();
    const err = await openStorage(
      { dataDir: ':memory:', storage: { url: `postgres://outpost:${PASSWORD}@127.0.0.1:1/outpost` } },
      MIGRATIONS,
      logger,
    ).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; details: unknown },
    );
    expect(err?.code).toBe('OUTPOST_E_STORAGE_UNAVAILABLE');
    expect(err?.message).toContain('postgres://outpost:***@127.0.0.1:1/outpost');
    expect(JSON.stringify(err)).not.toContain(PASSWORD);
    expect(err?.message).not.toContain(PASSWORD);
    expect(lines.join('')).not.toContain(PASSWORD);
  });
});
