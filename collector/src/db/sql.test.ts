/** The dialect-neutral handle, on SQLite and PostgreSQL alike: statements, transactions, nesting, waiting, types. */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import type { Migration } from './database.js';
import { describeStores } from './dialects.fixture.js';

const migrations: Migration[] = [
  {
    id: '9000_sql_test',
    concern: 'test',
    sql: `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER, r REAL, b BLOB);
          CREATE TABLE serial (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT NOT NULL)`,
  },
];

const names = async (db: import('./sql.js').SqlDb) =>
  (await db.all<{ name: string }>('SELECT name FROM t ORDER BY id')).map((r) => r.name);

describeStores('SqlDb', migrations, (db) => {
  it('runs statements with ? placeholders, leaving a ? inside a string alone', async () => {
    expect(await db().run('INSERT INTO t (id, name, n) VALUES (?, ?, ?)', [1, 'what?', 7])).toEqual({ changes: 1 });
    expect(await db().get("SELECT name, n FROM t WHERE name = 'what?' AND n = ?", [7])).toEqual({
      name: 'what?',
      n: 7,
    });
    expect(await db().get('SELECT name FROM t WHERE id = ?', [2])).toBeUndefined();
    expect(await db().run('UPDATE t SET n = n + 1 WHERE id > ?', [5])).toEqual({ changes: 0 });
    await db().exec("INSERT INTO t (id, name) VALUES (2, 'two'); INSERT INTO t (id, name) VALUES (3, 'three')");
    expect(await names(db())).toEqual(['what?', 'two', 'three']);
  });

  it('gives numbers for integer, count and sum columns, Buffers for blobs, and binds booleans as 0/1', async () => {
    const big = Number.MAX_SAFE_INTEGER;
    await db().run('INSERT INTO t (id, name, n, r, b) VALUES (?, ?, ?, ?, ?)', [
      1,
      'a',
      big,
      1.5,
      Buffer.from([0, 255]),
    ]);
    await db().run('INSERT INTO t (id, name, n) VALUES (?, ?, ?)', [2, 'b', true]);
    const row = await db().get<{ n: number; r: number; b: Buffer }>('SELECT n, r, b FROM t WHERE id = 1');
    expect(row).toEqual({ n: big, r: 1.5, b: Buffer.from([0, 255]) });
    expect(await db().get('SELECT count(*) AS c, sum(id) AS s FROM t')).toEqual({ c: 2, s: 3 });
    expect(await db().get('SELECT n FROM t WHERE id = 2')).toEqual({ n: 1 });
    await db().run('INSERT INTO serial (v) VALUES (?)', ['x']);
    expect(await db().get('SELECT id FROM serial')).toEqual({ id: 1 });
  });

  it('refuses a BIGINT past 2^53 on PostgreSQL rather than rounding it (SQLite rounds, as it always did)', async () => {
    const read = db().get<{ n: number }>('SELECT 9007199254740993 AS n');
    if (db().dialect === 'postgres') await expect(read).rejects.toMatchObject({ code: 'OUTPOST_E_INTERNAL' });
    else expect(await read).toEqual({ n: 2 ** 53 });
  });

  it('inserts many rows in one call, counting only those new', async () => {
    const sql = 'INSERT INTO t (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING';
    const rows = Array.from({ length: 2500 }, (_, i) => [i + 1, `n${i + 1}`]);
    expect(await db().transaction(() => db().runMany(sql, rows))).toEqual({ changes: 2500 });
    expect(await db().runMany(sql, [...rows.slice(0, 10), [9999, 'new']])).toEqual({ changes: 1 });
    expect(await db().get('SELECT count(*) AS c, max(id) AS m FROM t')).toEqual({ c: 2501, m: 9999 });
  });

  it('commits a transaction whole, and rolls it back whole when it throws', async () => {
    await db().transaction(async () => {
      await db().run('INSERT INTO t (id, name) VALUES (1, ?)', ['kept']);
    });
    const boom = new Error('boom');
    await expect(
      db().transaction(async () => {
        await db().run('INSERT INTO t (id, name) VALUES (2, ?)', ['lost']);
        expect(db().inTransaction()).toBe(true);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await names(db())).toEqual(['kept']);
    expect(db().inTransaction()).toBe(false);
  });

  it('joins the open transaction from any call made inside it, and a nested one is a savepoint', async () => {
    // A "store" of another concern, knowing nothing of the transaction it is called in.
    const otherStore = async (id: number) => {
      await new Promise((r) => setImmediate(r));
      await db().run('INSERT INTO t (id, name) VALUES (?, ?)', [id, `s${id}`]);
    };
    await expect(
      db().transaction(async () => {
        await otherStore(1);
        await db()
          .transaction(async () => {
            await otherStore(2);
            throw new Error('inner');
          })
          .catch(() => undefined);
        await db().transaction(() => otherStore(3));
        expect(await names(db())).toEqual(['s1', 's3']);
        throw new Error('outer');
      }),
    ).rejects.toThrow('outer');
    expect(await names(db())).toEqual([]);
  });

  it('runs an atomic block in the open transaction as it is, or in one of its own', async () => {
    await expect(
      db().atomic(async () => {
        await db().run('INSERT INTO t (id, name) VALUES (1, ?)', ['a']);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    await expect(
      db().transaction(async () => {
        await db().run('INSERT INTO t (id, name) VALUES (2, ?)', ['b']);
        await db().atomic(() => db().run('INSERT INTO t (id, name) VALUES (3, ?)', ['c']));
        expect(await names(db())).toEqual(['b', 'c']);
        throw new Error('outer');
      }),
    ).rejects.toThrow('outer');
    expect(await names(db())).toEqual([]);
  });

  it('keeps a caller outside an open transaction out of it: its write survives the rollback', async () => {
    let inside!: () => void;
    const opened = new Promise<void>((r) => {
      inside = r;
    });
    const tx = db().transaction(async () => {
      await db().run('INSERT INTO t (id, name) VALUES (1, ?)', ['inside']);
      inside();
      await sleep(30); // why: hold the transaction open while the outside caller tries to write
      throw new Error('rolled back');
    });
    await opened;
    const outside = db().run('INSERT INTO t (id, name) VALUES (2, ?)', ['outside']);
    await expect(tx).rejects.toThrow('rolled back');
    await outside;
    expect(await names(db())).toEqual(['outside']);
  });

  it('runs work that outlives its transaction outside it', async () => {
    let late: Promise<unknown> | undefined;
    await db().transaction(async () => {
      late = sleep(10).then(() => db().run('INSERT INTO t (id, name) VALUES (1, ?)', ['late'])); // why: after commit
    });
    await late;
    expect(db().inTransaction()).toBe(false);
    await expect(db().transaction(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await names(db())).toEqual(['late']);
  });

  it('runs afterCommit work once the transaction committed, outside it; never when it (or its savepoint) rolls back', async () => {
    const seen: string[] = [];
    const count = async () => (await db().get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n;
    await db().transaction(async () => {
      await db().run('INSERT INTO t (id, name) VALUES (1, ?)', ['kept']);
      await db().afterCommit(async () => {
        // Outside the transaction, and the row is committed: another transaction can be opened here.
        seen.push(`after:${db().inTransaction()}:${await count()}`);
        await db().transaction(async () => {
          await db().run('INSERT INTO t (id, name) VALUES (2, ?)', ['from the hook']);
        });
      });
      await db()
        .transaction(async () => {
          await db().afterCommit(() => seen.push('savepoint rolled back'));
          throw new Error('inner');
        })
        .catch(() => undefined);
      await db().transaction(async () => {
        await db().afterCommit(() => seen.push('savepoint released'));
      });
      seen.push('body done');
    });
    expect(seen).toEqual(['body done', 'after:false:1', 'savepoint released']);
    await expect(
      db().transaction(async () => {
        await db().afterCommit(() => seen.push('never'));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await db().afterCommit(() => seen.push('outside: at once'));
    expect(seen.slice(3)).toEqual(['outside: at once']);
    expect(await names(db())).toEqual(['kept', 'from the hook']);
  });

  it('never deadlocks a service lock taken after the transaction against a writer waiting for the connection', async () => {
    // The order incidents' write lock follows (IncidentCore.serial): the transaction first, then the lock. A timer-like
    // writer holds the lock while awaiting statements; a batch already in a transaction asks for the lock. Taken the
    // other way round (lock, then a statement that waits for the connection) these two would wait for each other.
    let chain: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> =>
      db().atomic(() => {
        const run = chain.then(fn, fn);
        chain = run.catch(() => undefined);
        return run;
      });
    const tick = serial(async () => {
      await sleep(20); // why: the lock stays held across a real turn of the event loop while the batch starts
      await db().run('INSERT INTO t (id, name) VALUES (1, ?)', ['tick']);
    });
    const batch = db().transaction(async () => {
      await db().run('INSERT INTO t (id, name) VALUES (2, ?)', ['batch']);
      await serial(() => db().run('INSERT INTO t (id, name) VALUES (3, ?)', ['raised by the batch']));
    });
    const settled = await Promise.race([
      Promise.all([tick, batch]).then(() => 'done'),
      sleep(5_000).then(() => 'deadlocked'),
    ]);
    expect(settled).toBe('done');
    expect((await names(db())).sort()).toEqual(['batch', 'raised by the batch', 'tick']);
  });
});
