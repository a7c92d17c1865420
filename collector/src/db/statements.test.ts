/**
 * Guards the rule in database.ts: no better-sqlite3 wrapper object may become garbage, or the collector aborts on
 * Node 24 (WiseLibs/better-sqlite3#1515). Stores get statements from `prepared()` only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openDatabase, prepared } from './database.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const self = fileURLToPath(import.meta.url);

/** Every TypeScript file that can reach a database: the collector's modules and tests, the cross-package tests. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sources(p);
    return e.name.endsWith('.ts') && p !== self ? [p] : [];
  });
}

describe('statement lifetime', () => {
  it('no module or test prepares, iterates or runs a pragma outside database.ts', () => {
    // A test's stray statement is enough: the vitest worker running it aborts on Node 24 when it exits.
    const offenders = ['collector/src', 'test']
      .flatMap((dir) => sources(join(repo, dir)))
      .filter((f) => !f.endsWith(join('db', 'database.ts')))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, at: `${relative(repo, f)}:${i + 1}` }))
          .filter(({ line }) => /\.(prepare|pragma|iterate)\s*[<(]/.test(line))
          .map(({ at }) => at),
      );
    expect(offenders).toEqual([]);
  });

  it('hands out one statement per database and SQL text', () => {
    const a = openDatabase(':memory:');
    const b = openDatabase(':memory:');
    expect(prepared(a, 'SELECT 1')).toBe(prepared(a, 'SELECT 1'));
    expect(prepared(a, 'SELECT 1')).not.toBe(prepared(b, 'SELECT 1'));
    expect(prepared(a, 'PRAGMA journal_mode').pluck().get()).toBe('memory');
    expect(prepared(a, 'PRAGMA foreign_keys').pluck().get()).toBe(1);
    a.close();
    b.close();
  });
});
