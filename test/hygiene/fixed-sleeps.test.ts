/**
 * A test that waits a fixed time is slow on a quiet machine and flaky on a loaded one, so the suite waits for
 * outcomes (polling or events). The fixed waits that remain are the ones that cannot be an outcome: "nothing else
 * happens within T" (an absence), a person's pace, a bound being measured. Each says why in a comment on its line or
 * the line above; a poll step (a sleep inside a loop that re-checks its condition) needs none.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/collector.js';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : testFiles(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const SLEEP = /await (new Promise\(\(\w+\) => setTimeout\(\w+, [^)]+\)\)|sleep\([^)]*\))/;
const indent = (line: string) => line.length - line.trimStart().length;

/** The fixed waits of one file that neither poll nor say why, as `file:line`. */
export function unexplainedSleeps(file: string, text: string): string[] {
  const lines = text.split('\n');
  return lines.flatMap((line, i) => {
    const t = line.trim();
    if (!SLEEP.test(t) || /Promise\.race/.test(t)) return [];
    // A sleep in a loop header or directly under one is a poll step.
    if (/^(while|for)\b/.test(t)) return [];
    const own = indent(line);
    const parent = lines
      .slice(0, i)
      .reverse()
      .find((l) => l.trim() !== '' && indent(l) < own);
    if (parent && /^(\}\s*)?(while|for)\b/.test(parent.trim())) return [];
    if (parent && /^if\b/.test(parent.trim()) && /^\s*(while|for)\b/.test(lines[lines.indexOf(parent) - 1] ?? ''))
      return [];
    if (line.includes('//') || /\/\/|\*\/\s*$/.test(lines[i - 1] ?? '')) return [];
    return [`${file}:${i + 1}`];
  });
}

describe('fixed sleeps in tests', () => {
  it('each remaining fixed wait says why it cannot wait for an outcome instead', () => {
    const self = relative(repoRoot, fileURLToPath(import.meta.url));
    const offenders = ['test', 'agent/src', 'collector/src', 'shared/src', 'console/src'].flatMap((dir) =>
      testFiles(join(repoRoot, dir))
        .filter((f) => relative(repoRoot, f) !== self)
        .flatMap((f) => unexplainedSleeps(relative(repoRoot, f), readFileSync(f, 'utf8'))),
    );
    expect(offenders).toEqual([]);
  });

  it('tells a poll step from a bare fixed wait', () => {
    const poll = ['for (let i = 0; i < 9; i++) {', '  if (done()) break;', '  await sleep(20);', '}'].join('\n');
    const bare = ['it(x, async () => {', '  await sleep(500);', '  expect(a).toBe(1);'].join('\n');
    const said = ['  // nothing may arrive within 500 ms', '  await sleep(500);'].join('\n');
    expect(unexplainedSleeps('f', poll)).toEqual([]);
    expect(unexplainedSleeps('f', bare)).toEqual(['f:2']);
    expect(unexplainedSleeps('f', said)).toEqual([]);
  });
});
