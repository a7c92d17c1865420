/**
 * The dialect-neutral SQL handle concerns' stores are moving to (docs/0016-postgres.md): the same five calls on the
 * embedded SQLite file and on PostgreSQL. SQL is written once, with `?` placeholders, in the subset both engines
 * speak; a store picks a dialect fragment from `dialect` only where the subset has none.
 */

/** A value a statement may bind. Booleans are bound as 0/1: the schemas store flags as INTEGER. */
export type SqlParam = string | number | bigint | boolean | null | Buffer;

/** Which engine answers. */
export type Dialect = 'sqlite' | 'postgres';

/** What a write changed. */
export interface RunResult {
  /** Rows inserted, updated or deleted (an ignored conflict counts 0). */
  changes: number;
}

/**
 * One database, whichever engine. `transaction` makes every call of this handle made inside `fn` (found through
 * AsyncLocalStorage, however deep the call stack and whichever store makes it) part of one transaction; a nested
 * `transaction` is a savepoint. Callers outside wait while a transaction is open where the engine has one connection.
 */
export interface SqlDb {
  readonly dialect: Dialect;
  all<R>(sql: string, params?: readonly SqlParam[]): Promise<R[]>;
  get<R>(sql: string, params?: readonly SqlParam[]): Promise<R | undefined>;
  run(sql: string, params?: readonly SqlParam[]): Promise<RunResult>;
  /**
   * Runs one INSERT (written for a single row, `VALUES (?, …)`) for many rows; returns the rows changed in all. SQLite
   * runs its prepared statement per row; PostgreSQL sends multi-row VALUES in chunks (one round trip per chunk).
   * Atomic only inside a transaction.
   */
  runMany(sql: string, rows: readonly (readonly SqlParam[])[]): Promise<RunResult>;
  /** Runs a script of several statements without parameters (DDL). */
  exec(sql: string): Promise<void>;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` atomically: inside the caller's open transaction as it is (no savepoint: a failure fails the caller's
   * whole transaction, which is what a store's multi-statement write wants), else in a transaction of its own.
   */
  atomic<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` after the caller's open transaction commits, outside it and after its connection is released — never if
   * it rolls back (a savepoint's hooks go with it); outside a transaction, at once. For reactions to written rows that
   * take other locks (raising an incident, detection, telling an agent): run inside, a reaction waiting on a lock whose
   * holder waits for this connection would deadlock (docs/0016-postgres.md, "Reactions after the commit").
   * `transaction` resolves after its hooks ran; `fn` should catch and log its own errors.
   */
  afterCommit(fn: () => unknown): Promise<void>;
  /** True when the caller runs inside an open transaction of this handle. */
  inTransaction(): boolean;
  close(): Promise<void>;
}
