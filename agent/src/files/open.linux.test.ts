/**
 * The Linux opener without /proc: a real agent module run in a mount namespace whose /proc is an empty tmpfs refuses
 * the transfer with OUTPOST_E_FILES_UNAVAILABLE instead of falling back to an open by name. Needs `unshare` and the
 * right to mount (root or a user namespace); skipped where neither is available.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const openModule = fileURLToPath(new URL('./open.ts', import.meta.url));
const canUnshare =
  process.platform === 'linux' &&
  spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /proc'], {
    stdio: 'ignore',
  }).status === 0;

const base = mkdtempSync(join(tmpdir(), 'outpost-noproc-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Runs openConfined on a file under a root in a child, with /proc replaced by `procSetup`; returns what it printed. */
function openIn(procSetup: string): string {
  const root = join(base, 'root');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'f.txt'), 'f');
  const script = join(base, 'open.mts');
  writeFileSync(
    script,
    `import { openConfined } from ${JSON.stringify(openModule)};
     try { const fh = await openConfined(${JSON.stringify(join(root, 'f.txt'))}, [${JSON.stringify(root)}], 'read');
       await fh.close(); console.log('opened'); }
     catch (e) { console.log(e.code ?? String(e)); }`,
  );
  const r = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', `${procSetup} exec "$0" --conditions=source "$1"`, tsx, script],
    { encoding: 'utf8' },
  );
  return `${r.stdout}${r.stderr}`.trim();
}

describe.skipIf(!canUnshare)('the Linux opener without /proc', () => {
  it('refuses with OUTPOST_E_FILES_UNAVAILABLE, and opens once /proc is back', () => {
    expect(openIn('mount -t tmpfs none /proc &&')).toMatch(/OUTPOST_E_FILES_UNAVAILABLE$/);
    expect(openIn('')).toMatch(/opened$/);
  });
});
