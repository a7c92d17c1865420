/**
 * The open transaction of a handle, as AsyncLocalStorage carries it down every call made inside it. Both adapters
 * share this: the root transaction (BEGIN … COMMIT) is theirs, savepoints for nested transactions are here.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { Mutex } from './mutex.js';

/** One level of an open transaction on connection `conn`. */
export interface TxScope<C> {
  readonly conn: C;
  /** Shared by every level: false once the root committed or rolled back (work leaked past it runs outside). */
  readonly root: { open: boolean };
  /** Nested transactions of one level run one at a time, so their savepoints never interleave. */
  readonly lock: Mutex;
  readonly depth: number;
  /** Work to run once the root commits (afterCommit); a savepoint's own go to its parent on release, away on rollback. */
  readonly hooks: AfterCommit[];
}

/** Work that must see committed data and must not run inside the transaction (docs/0016-postgres.md, "Deadlock"). */
export type AfterCommit = () => unknown;

/** A fresh root scope. */
export function rootScope<C>(conn: C): TxScope<C> {
  return { conn, root: { open: true }, lock: new Mutex(), depth: 0, hooks: [] };
}

/** The open scope the caller runs in, if any. */
export function openScope<C>(als: AsyncLocalStorage<TxScope<C>>): TxScope<C> | undefined {
  const s = als.getStore();
  return s?.root.open ? s : undefined;
}

/** Runs `fn` inside a savepoint of `parent`: its work is undone alone when it throws, kept with the parent if not. */
export async function inSavepoint<C, T>(
  als: AsyncLocalStorage<TxScope<C>>,
  parent: TxScope<C>,
  exec: (conn: C, sql: string) => unknown,
  fn: () => Promise<T>,
): Promise<T> {
  const release = await parent.lock.acquire();
  const depth = parent.depth + 1;
  const name = `outpost_sp_${depth}`;
  try {
    await exec(parent.conn, `SAVEPOINT ${name}`);
    try {
      const child: TxScope<C> = { ...parent, lock: new Mutex(), depth, hooks: [] };
      const out = await als.run(child, fn);
      await exec(parent.conn, `RELEASE SAVEPOINT ${name}`);
      parent.hooks.push(...child.hooks);
      return out;
    } catch (err) {
      await exec(parent.conn, `ROLLBACK TO SAVEPOINT ${name}`);
      await exec(parent.conn, `RELEASE SAVEPOINT ${name}`);
      throw err;
    }
  } finally {
    release();
  }
}

/** Binds booleans as 0/1 (flags are INTEGER columns in both dialects); other values pass unchanged. */
export function bindable<P>(params: readonly P[]): (P | number)[] {
  let out: (P | number)[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (typeof v === 'boolean') {
      out ??= [...params];
      out[i] = v ? 1 : 0;
    }
  }
  return out ?? (params as (P | number)[]);
}

/**
 * `afterCommit` of both adapters: inside an open transaction `fn` is kept for after the root's COMMIT (and dropped if it
 * rolls back); outside one it runs now. Either way the returned promise settles when `fn` has been handed off or run.
 */
export async function deferToCommit<C>(als: AsyncLocalStorage<TxScope<C>>, fn: AfterCommit): Promise<void> {
  const scope = openScope(als);
  if (scope) {
    scope.hooks.push(fn);
    return;
  }
  await runHooks([fn]);
}

/**
 * Runs the hooks of a committed transaction one after another, outside it (the caller released the connection first).
 * The data is committed whatever a hook does, so a hook that throws cannot undo it: its error is reported as a process
 * warning (hooks are expected to handle their own errors and log them with context; this is the net under them).
 */
export async function runHooks(hooks: readonly AfterCommit[]): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook();
    } catch (err) {
      process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: 'OUTPOST_W_AFTER_COMMIT' });
    }
  }
}
