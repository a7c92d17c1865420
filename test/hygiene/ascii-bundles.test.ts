/**
 * The agent's bundles are rewritten as ASCII (agent/scripts/ascii-only.mjs) so that V8 keeps their source as a
 * one-byte string (half the heap; docs/0009-packaging.md, "Footprint"). The rewrite must keep what the code means,
 * and refuse what it cannot escape safely.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../support/collector.js';

const dir = tempDir('ascii-only');
afterAll(() => dir[Symbol.dispose]());
const { asciiOnly } = (await import(pathToFileURL(join(repoRoot, 'agent/scripts/ascii-only.mjs')).href)) as {
  asciiOnly: (file: string) => void;
};

/** Writes `src` to a file, rewrites it and returns the result. */
function rewrite(name: string, src: string): string {
  const file = join(dir.path, name);
  writeFileSync(file, src);
  asciiOnly(file);
  return readFileSync(file, 'utf8');
}

describe('asciiOnly', () => {
  it('leaves only ASCII, and the code still means the same', () => {
    const src = [
      '/** ±20 % jitter, 1–6 h… */',
      'const strip = (s) => s.replace(/[✓*]$/, "");',
      'const device = /^(com[0-9¹²³])$/i;',
      'module.exports = [strip("pkg✓"), device.test("com²"), device.test("comx")];',
    ].join('\n');
    const out = rewrite('ok.cjs', src);
    expect(out).toMatch(/^[\x00-\x7f]*$/);
    const run = (code: string) => {
      const module = { exports: [] as unknown[] };
      new Function('module', code)(module);
      return module.exports;
    };
    expect(run(out)).toEqual(['pkg', true, false]);
    expect(run(out)).toEqual(run(src));
  });

  it('refuses a character it cannot escape without changing meaning', () => {
    expect(() => rewrite('tpl.cjs', 'const s = String.raw`a…b`;')).toThrow(/cannot escape U\+2026 safely/);
    expect(() => rewrite('astral.cjs', 'const re = /[😀]/;')).toThrow(/cannot escape U\+1f600 safely/);
    expect(() => rewrite('backslash.cjs', 'const re = /\\…/;')).toThrow(/cannot escape/);
  });

  it('leaves a file that is already ASCII untouched', () => {
    expect(rewrite('plain.cjs', 'const a = "\\u2026";\n')).toBe('const a = "\\u2026";\n');
  });
});
