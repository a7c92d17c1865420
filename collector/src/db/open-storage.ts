/**
 * Opens the store a configuration names and brings its schema up to date: the embedded SQLite file in `dataDir`
 * (the default, unchanged), or the PostgreSQL database of `storage.url` (a pool of `storage.pool` connections,
 * migrations under an advisory lock so nodes starting together migrate once). The password of the URL is never
 * logged nor put in an error.
 */
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { type Db, type Migration, migrate, openDatabase } from './database.js';
import { migrateSql } from './migrate-sql.js';
import { PostgresSql } from './postgres-sql.js';
import type { SqlDb } from './sql.js';
import { markServing } from './sqlite-lock.js';
import { sqlOf } from './sqlite-sql.js';

/** What `storage` in the configuration holds. */
export interface StorageSettings {
  url?: string | undefined;
  pool?: number | undefined;
}

/** An open, migrated store. */
export interface Storage {
  /** The dialect-neutral handle every ported store takes. */
  sql: SqlDb;
  /** The raw SQLite handle, for the stores not yet ported; undefined on PostgreSQL. */
  raw: Db | undefined;
  /** Where it is, for logs: the SQLite file, or the PostgreSQL URL without its password. */
  where: string;
  close(): Promise<void>;
}

/** The default pool size on PostgreSQL: enough for the batch transaction beside the API's reads. */
export const DEFAULT_POOL = 10;

/** A PostgreSQL URL with its password replaced, safe for a log line or an error. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** The SQLite file of a data directory (`:memory:` stays in memory). */
export function sqliteFileOf(dataDir: string): string {
  return dataDir === ':memory:' ? ':memory:' : join(dataDir, 'outpost.db');
}

/** Opens and migrates the store of `storage` (PostgreSQL) or of `dataDir` (SQLite). */
export async function openStorage(
  settings: { dataDir: string; storage: StorageSettings },
  migrations: readonly Migration[],
  logger: Logger,
): Promise<Storage> {
  const { url } = settings.storage;
  if (url === undefined) {
    const file = sqliteFileOf(settings.dataDir);
    const raw = openDatabase(file);
    const applied = migrate(raw, migrations);
    if (applied.length) logger.info({ storage: file, migrations: applied }, 'database migrated');
    const sql = sqlOf(raw);
    // What `outpost migrate --to` checks before it copies the file (sqlite-lock.ts).
    const release = file === ':memory:' ? () => {} : markServing(file);
    return {
      sql,
      raw,
      where: file,
      close: async () => {
        await sql.close();
        release();
      },
    };
  }
  const where = redactUrl(url);
  const sql = new PostgresSql(url, { max: settings.storage.pool ?? DEFAULT_POOL });
  try {
    await sql.get('SELECT 1 AS one');
  } catch (cause) {
    await sql.close().catch(() => {});
    throw new OutpostError('OUTPOST_E_STORAGE_UNAVAILABLE', {
      message: `Cannot connect to PostgreSQL at ${where}: ${scrub((cause as Error).message, url)}`,
      details: { storage: where },
    });
  }
  try {
    const applied = await migrateSql(sql, migrations);
    if (applied.length) logger.info({ storage: where, migrations: applied }, 'database migrated');
  } catch (err) {
    await sql.close().catch(() => {});
    throw err;
  }
  logger.info({ storage: where, pool: settings.storage.pool ?? DEFAULT_POOL }, 'storage: PostgreSQL');
  return { sql, raw: undefined, where, close: () => sql.close() };
}

/** A driver message with the URL's password taken out, should the driver ever echo it. */
function scrub(message: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // unparsable: nothing to take out beyond the URL itself
  }
  let out = message.split(url).join(redactUrl(url));
  if (password) out = out.split(password).join('***');
  return out;
}
