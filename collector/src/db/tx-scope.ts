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
}

/** A fresh root scope. */
export function rootScope<C>(conn: C): TxScope<C> {
  return { conn, root: { open: true }, lock: new Mutex(), depth: 0 };
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
      const out = await als.run({ ...parent, lock: new Mutex(), depth }, fn);
      await exec(parent.conn, `RELEASE SAVEPOINT ${name}`);
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
