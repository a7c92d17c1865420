import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openUnderDarwin } from './open.darwin.js';
import { openConfined } from './open.js';
import { matchRoot } from './paths.js';
import { TRAVERSAL_PAYLOADS } from './traversal-payloads.js';

const base = mkdtempSync(join(tmpdir(), 'outpost-paths-'));
const root = join(base, 'root');
const out = join(base, 'outside');
mkdirSync(join(root, 'sub'), { recursive: true });
mkdirSync(out);
writeFileSync(join(out, 'canary.txt'), 'canary');
writeFileSync(join(root, 'ok.txt'), 'ok');
writeFileSync(join(root, 'sub', 'deep.txt'), 'deep');
symlinkSync(out, join(root, 'link-out'));
symlinkSync(join(out, 'canary.txt'), join(root, 'link-file'));
symlinkSync(join(root, 'ok.txt'), join(root, 'link-in'));
symlinkSync(join(root, 'sub'), join(root, 'link-sub'));
symlinkSync(join(out, 'nothing-yet.txt'), join(root, 'dangling'));
symlinkSync(root, join(base, 'root-alias'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Expands a payload template for this layout. */
export const expand = (p: string, r: string, o: string) => p.replaceAll('{root}', r).replaceAll('{out}', basename(o));

/** The code an open fails with, or 'opened' (the handle is closed). */
async function outcome(path: string, mode: 'read' | 'create' | 'update', roots = [root]): Promise<string> {
  try {
    const fh = await openConfined(path, roots, mode);
    await fh.close();
    return 'opened';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('openConfined', () => {
  it(`refuses all ${TRAVERSAL_PAYLOADS.length} traversal payloads for reading and writing`, async () => {
    expect(TRAVERSAL_PAYLOADS.length).toBeGreaterThanOrEqual(30);
    for (const p of TRAVERSAL_PAYLOADS) {
      for (const mode of ['read', 'create', 'update'] as const) {
        expect(['OUTPOST_E_PATH_REFUSED', 'OUTPOST_E_NOT_FOUND'], `${mode} ${JSON.stringify(p)}`).toContain(
          await outcome(expand(p, root, out), mode),
        );
      }
    }
    expect(readFileSync(join(out, 'canary.txt'), 'utf8')).toBe('canary');
  });

  it('opens plain paths under a root, as configured or through its real path, and creates new files', async () => {
    expect(await outcome(join(root, 'ok.txt'), 'read')).toBe('opened');
    expect(await outcome(join(root, 'sub', 'deep.txt'), 'read')).toBe('opened');
    expect(await outcome(join(root, 'sub', 'new.bin'), 'create')).toBe('opened');
    expect(readFileSync(join(root, 'sub', 'new.bin'), 'utf8')).toBe('');
    expect(await outcome(join(root, 'sub', 'other.bin'), 'update')).toBe('OUTPOST_E_NOT_FOUND');
    expect(await outcome(join(base, 'root-alias', 'ok.txt'), 'read', [join(base, 'root-alias')])).toBe('opened');
    expect(await outcome(join(root, 'ok.txt'), 'read', [join(base, 'root-alias')])).toBe('opened');
    expect(await outcome(join(root, 'ok.txt'), 'read', [])).toBe('OUTPOST_E_PATH_REFUSED');
    expect(await outcome(join(root, 'sub'), 'read')).toBe('OUTPOST_E_PATH_REFUSED');
    expect(await outcome(root, 'read')).toBe('OUTPOST_E_PATH_REFUSED');
  });

  it('follows no symlink below the root, not even one that stays inside, and creates nothing through one', async () => {
    for (const mode of ['read', 'create'] as const) {
      expect(await outcome(join(root, 'link-in'), mode)).toBe('OUTPOST_E_PATH_REFUSED');
      expect(await outcome(join(root, 'link-sub', 'deep.txt'), mode)).toBe('OUTPOST_E_PATH_REFUSED');
      expect(await outcome(join(root, 'link-out', 'canary.txt'), mode)).toBe('OUTPOST_E_PATH_REFUSED');
      expect(await outcome(join(root, 'dangling'), mode)).toBe('OUTPOST_E_PATH_REFUSED');
    }
    expect(() => readFileSync(join(out, 'nothing-yet.txt'))).toThrow();
  });

  it('does not block on a FIFO and refuses it as not a regular file', async () => {
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [join(root, 'fifo')]);
    expect(await outcome(join(root, 'fifo'), 'read')).toBe('OUTPOST_E_PATH_REFUSED');
    expect(await outcome(join(root, 'fifo'), 'create')).toBe('OUTPOST_E_PATH_REFUSED');
  });

  it('matches the longest root when roots nest', () => {
    expect(matchRoot(join(root, 'sub', 'a.txt'), [root, join(root, 'sub')]).rest).toEqual(['a.txt']);
    expect(matchRoot(join(root, 'sub', 'a.txt'), [join(root, 'sub'), root]).rest).toEqual(['a.txt']);
  });
});

describe('the POSIX opener without /proc (macOS)', () => {
  it('opens when every directory from the root down belongs to root or the agent and nobody else may write it', async () => {
    const fh = await openUnderDarwin(root, ['sub', 'deep.txt'], 'read');
    await fh.close();
  });

  it('refuses a symlink on the way, and a directory others could write or that another user owns', async () => {
    await expect(openUnderDarwin(root, ['link-sub', 'deep.txt'], 'read')).rejects.toMatchObject({
      code: 'OUTPOST_E_PATH_REFUSED',
    });
    await expect(openUnderDarwin(root, ['link-in'], 'read')).rejects.toMatchObject({ code: 'ELOOP' });
    const shared = join(root, 'shared');
    mkdirSync(shared);
    writeFileSync(join(shared, 'f.txt'), 'f');
    chmodSync(shared, 0o777);
    await expect(openUnderDarwin(root, ['shared', 'f.txt'], 'read')).rejects.toMatchObject({
      code: 'OUTPOST_E_PATH_REFUSED',
      message: expect.stringMatching(/writable by its group or by others/),
    });
    chmodSync(shared, 0o755);
    await (await openUnderDarwin(root, ['shared', 'f.txt'], 'read')).close();
  });
});
