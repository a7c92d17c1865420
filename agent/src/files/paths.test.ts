import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { confinePath } from './paths.js';
import { TRAVERSAL_PAYLOADS } from './traversal-payloads.js';

const base = mkdtempSync(join(tmpdir(), 'outpost-paths-'));
const root = join(base, 'root');
const out = join(base, 'outside');
mkdirSync(join(root, 'sub'), { recursive: true });
mkdirSync(out);
writeFileSync(join(out, 'canary.txt'), 'canary');
writeFileSync(join(root, 'ok.txt'), 'ok');
symlinkSync(out, join(root, 'link-out'));
symlinkSync(join(out, 'canary.txt'), join(root, 'link-file'));
symlinkSync(join(root, 'ok.txt'), join(root, 'link-in'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Expands a payload template for this layout. */
export const expand = (p: string, r: string, o: string) => p.replaceAll('{root}', r).replaceAll('{out}', basename(o));

describe('confinePath', () => {
  it(`refuses all ${TRAVERSAL_PAYLOADS.length} traversal payloads`, () => {
    expect(TRAVERSAL_PAYLOADS.length).toBeGreaterThanOrEqual(30);
    for (const p of TRAVERSAL_PAYLOADS) {
      for (const mustExist of [true, false]) {
        let err: unknown;
        try {
          confinePath(expand(p, root, out), [root], mustExist);
        } catch (e) {
          err = e;
        }
        expect(err, `payload ${JSON.stringify(p)} was accepted`).toBeDefined();
        expect(['OUTPOST_E_PATH_REFUSED', 'OUTPOST_E_NOT_FOUND']).toContain((err as { code: string }).code);
      }
    }
    expect(readFileSync(join(out, 'canary.txt'), 'utf8')).toBe('canary');
  });

  it('accepts plain paths inside a root, new files in existing directories, and links that stay inside', () => {
    expect(confinePath(join(root, 'ok.txt'), [root], true)).toMatch(/ok\.txt$/);
    expect(confinePath(join(root, 'sub', 'new.bin'), [root], false)).toMatch(/sub\/new\.bin$/);
    expect(confinePath(join(root, 'link-in'), [root], true)).toMatch(/ok\.txt$/);
    expect(() => confinePath(join(root, 'ok.txt'), [], true)).toThrow(/no file roots/);
  });
});
