/**
 * The SqlDb handle over PostgreSQL (`pg`): a pool; a transaction pins one client, and every call made inside it
 * (found through AsyncLocalStorage) runs on that client. Types come back as the SQLite handle gives them: BIGINT and
 * NUMERIC as JS numbers (refused past the safe-integer range rather than rounded), BYTEA as Buffer, flags as 0/1.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { OutpostError } from '@outpost/shared';
import pg from 'pg';
import { toDollarParams } from './placeholders.js';
import type { RunResult, SqlDb, SqlParam } from './sql.js';
import { bindable, deferToCommit, inSavepoint, openScope, rootScope, runHooks, type TxScope } from './tx-scope.js';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** BIGINT as a number; a value JS cannot hold exactly fails the query instead of coming back rounded. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new OutpostError('OUTPOST_E_INTERNAL', {
      message: `PostgreSQL returned ${text}, past the safe integer range`,
    });
  return n;
}

/** NUMERIC (what SUM over BIGINT returns) as a number, finite or refused. */
export function parseNumeric(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n))
    throw new OutpostError('OUTPOST_E_INTERNAL', { message: `PostgreSQL returned ${text}, not a finite number` });
  return n;
}

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID) return parseInt8;
    if (oid === NUMERIC_OID) return parseNumeric;
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

type Conn = pg.Pool | pg.PoolClient;

/** `INSERT … VALUES (?, …) [ON CONFLICT …]`: the one row tuple runMany repeats. */
const SINGLE_ROW_INSERT = /^(\s*INSERT\b[\s\S]*?\bVALUES\s*)(\([^()]*\))([\s\S]*)$/i;
/** The server ends a session idle this long inside a transaction (see the constructor). */
export const IDLE_IN_TRANSACTION_MS = 30_000;
/** PostgreSQL binds at most 65,535 parameters per statement; half keeps statements moderate. */
const MAX_PARAMS = 32_000;
const MAX_ROWS_PER_INSERT = 1_000;

/** Bigints are sent as decimal text (pg does not bind them itself). */
function values(params: readonly SqlParam[]): unknown[] {
  return bindable(params).map((v) => (typeof v === 'bigint' ? v.toString() : v));
}

/** PostgreSQL behind the dialect-neutral handle. */
export class PostgresSql implements SqlDb {
  readonly dialect = 'postgres' as const;
  readonly #als = new AsyncLocalStorage<TxScope<pg.PoolClient>>();
  readonly #pool: pg.Pool;

  constructor(url: string, options: { max?: number; idleInTransactionMs?: number } = {}) {
    this.#pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      types,
      // A transaction awaits nothing but the database (docs/0016), so one idle this long belongs to a process that
      // is paused or wedged: the server ends it, which frees the rows it locked — a fenced write's share lock on its
      // lease row among them, which would otherwise hold a takeover until the paused node woke (docs/0017, Fencing).
      idle_in_transaction_session_timeout: options.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS,
    });
    // An idle client that loses its server emits here; without a listener the process would crash.
    this.#pool.on('error', () => {});
  }

  #conn(): Conn {
    return openScope(this.#als)?.conn ?? this.#pool;
  }

  async #query<R>(sql: string, params: readonly SqlParam[]): Promise<pg.QueryResult<R & pg.QueryResultRow>> {
    return this.#conn().query<R & pg.QueryResultRow>({ text: toDollarParams(sql), values: values(params) });
  }

  async all<R>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
    return (await this.#query<R>(sql, params)).rows;
  }

  async get<R>(sql: string, params: readonly SqlParam[] = []): Promise<R | undefined> {
    return (await this.#query<R>(sql, params)).rows[0];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<RunResult> {
    return { changes: (await this.#query(sql, params)).rowCount ?? 0 };
  }

  async runMany(sql: string, rows: readonly (readonly SqlParam[])[]): Promise<RunResult> {
    const m = SINGLE_ROW_INSERT.exec(sql);
    if (!m) throw new Error(`runMany needs an INSERT … VALUES (?, …): ${sql.slice(0, 60)}`);
    const [, head, tuple, tail] = m as unknown as [string, string, string, string];
    const width = rows[0]?.length ?? 0;
    const per = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMS / Math.max(1, width))));
    let changes = 0;
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      const text = `${head}${Array.from(chunk, () => tuple).join(', ')}${tail}`;
      changes += (await this.run(text, chunk.flat())).changes;
    }
    return { changes };
  }

  async exec(sql: string): Promise<void> {
    // No parameters: the simple protocol, which runs a script of several statements.
    await this.#conn().query(sql);
  }

  inTransaction(): boolean {
    return openScope(this.#als) !== undefined;
  }

  afterCommit(fn: () => unknown): Promise<void> {
    return deferToCommit(this.#als, fn);
  }

  atomic<T>(fn: () => Promise<T>): Promise<T> {
    return openScope(this.#als) ? fn() : this.transaction(fn);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const scope = openScope(this.#als);
    if (scope) return inSavepoint(this.#als, scope, (c, sql) => c.query(sql), fn);
    const client = await this.#pool.connect();
    // A client whose BEGIN, COMMIT or ROLLBACK failed is destroyed, not handed to the next caller.
    let broken: Error | undefined;
    // The pool listens for errors of idle clients only: a checked-out one whose server ends the session between two
    // statements (the idle-in-transaction bound, a restart) would emit an unheard 'error' and crash the process.
    const lost = (e: Error) => {
      broken ??= e;
    };
    client.on('error', lost);
    const tx = rootScope(client);
    let out: T;
    try {
      await client.query('BEGIN').catch((e: Error) => {
        broken = e;
        throw e;
      });
      try {
        out = await this.#als.run(tx, fn);
      } catch (err) {
        tx.root.open = false;
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
        throw err;
      }
      tx.root.open = false;
      await client.query('COMMIT').catch((e: Error) => {
        broken = e;
        throw e;
      });
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
    if (tx.hooks.length > 0) await runHooks(tx.hooks);
    return out;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
