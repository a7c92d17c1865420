/**
 * Bad input to the `outpost` CLI that only a running collector can refuse: a wrong pinned fingerprint at login,
 * unknown agents and sites, copies with a bad local side. One collector for all; each case is a real CLI process
 * that exits non-zero with a message naming the problem, no stack trace, and leaves no file behind.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';

const dir = tempDir('cli-bad-input-live');
const cliConfig = join(dir.path, 'cli.json');
const env = { OUTPOST_CLI_CONFIG: cliConfig, OUTPOST_SERVER: '', OUTPOST_TOKEN: '', OUTPOST_CA_FINGERPRINT: '' };
const STACK = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

async function run(args: string[]) {
  await using p = spawnNode(outpostBin, args, env);
  const code = await p.exited;
  return { code, out: p.stdout() + p.stderr() };
}

function expectRefused(r: { code: number | null; out: string }, expected: RegExp, label: string): void {
  expect(r.code, label).not.toBe(0);
  expect(r.out, label).toMatch(expected);
  expect(r.out, label).not.toMatch(STACK);
  expect(r.out, label).not.toMatch(/TypeError|ReferenceError|Unhandled|unexpected failure/);
}

describe('the outpost CLI against a running collector refuses bad input clearly', () => {
  it('login with a wrong --ca-fingerprint is refused and saves nothing; the right one logs in', async () => {
    const password = c.collector.initialAdmin!.password;
    const wrong = c.fingerprint!.replace(/^(..)/, (h) => (h === 'AA' ? 'BB' : 'AA'));
    const login = (fp: string) =>
      run([
        '--server',
        c.apiUrl,
        '--ca-fingerprint',
        fp,
        'login',
        '--email',
        'admin@outpost.local',
        '--password',
        password,
      ]);
    const r = await login(wrong);
    expectRefused(
      r,
      /OUTPOST_E_TLS_PIN_MISMATCH: The collector certificate does not match the pinned fingerprint/,
      'login',
    );
    expect(existsSync(cliConfig)).toBe(false);
    const ok = await login(c.fingerprint!);
    expect(ok.out).toMatch(/logged in as admin@outpost\.local/);
    expect(ok.code).toBe(0);
    expect(existsSync(cliConfig)).toBe(true);
  }, 30_000);

  it('unknown agents and sites, bad local sides: refused naming them, no file written', async () => {
    expect(existsSync(cliConfig), 'logged in by the case above').toBe(true);
    const upload = join(dir.path, 'upload.txt');
    writeFileSync(upload, 'hello');
    const regular = join(dir.path, 'regular-file');
    writeFileSync(regular, 'x');
    const download = join(dir.path, 'download.txt');
    const missingReport = join(dir.path, 'missing-site.html');
    const ghost = `ag_${'0'.repeat(24)}`;
    const cases: [string[], RegExp][] = [
      [['shell', ghost], new RegExp(`OUTPOST_E_NOT_FOUND: No agent ${ghost}`)],
      [['cp', upload, `${ghost}:/tmp/x`], new RegExp(`OUTPOST_E_NOT_FOUND: No agent ${ghost}`)],
      [['cp', `${ghost}:/tmp/x`, download], new RegExp(`OUTPOST_E_NOT_FOUND: No agent ${ghost}`)],
      [['cp', join(dir.path, 'nope.txt'), `${ghost}:/tmp/x`], /OUTPOST_E_LOCAL_FILE: .*nope\.txt: no such file/],
      [['cp', upload, download], /exactly one of source and destination .*two local/],
      [['cp', `${ghost}:/a`, `${ghost}:/b`], /exactly one of source and destination .*two remote/],
      [
        ['report', 'perimeter', '--site', 'si_nosuch', '--out', missingReport],
        /OUTPOST_E_NOT_FOUND: No site si_nosuch/,
      ],
      [
        ['report', 'perimeter', '--site', c.siteId, '--out', join(regular, 'r.html')],
        /OUTPOST_E_LOCAL_FILE: .*is not a folder/,
      ],
      [
        ['report', 'perimeter', '--site', c.siteId, '--out', join(dir.path, 'no-dir', 'r.csv')],
        /OUTPOST_E_LOCAL_FILE: .*no-dir does not exist/,
      ],
      // Within the CLI's bounds, beyond the collector's: its coded refusal names the field.
      [['audit', '--limit', '5000'], /OUTPOST_E_BAD_REQUEST: .*limit must be <= 1000/],
      // A century back was sent as a negative `from` the user never typed ("from must be >= 0"); now: everything.
      [['inventory', 'history', ghost, '--since', '36500'], new RegExp(`OUTPOST_E_NOT_FOUND: No agent ${ghost}`)],
    ];
    const results: { code: number | null; out: string }[] = [];
    for (let i = 0; i < cases.length; i += 6)
      results.push(...(await Promise.all(cases.slice(i, i + 6).map(([args]) => run(args)))));
    for (const [i, [args, expected]] of cases.entries()) expectRefused(results[i]!, expected, args.join(' '));
    expect(existsSync(download)).toBe(false);
    expect(existsSync(missingReport)).toBe(false);
    expect(existsSync(join(dir.path, 'no-dir'))).toBe(false);

    // The same report to a writable path works: the refusals above are about the paths and ids.
    const good = join(dir.path, 'perimeter.csv');
    const r = await run(['report', 'perimeter', '--site', c.siteId, '--out', good]);
    expect(r.out).toMatch(/wrote .*perimeter\.csv/);
    expect(r.code).toBe(0);
    expect(existsSync(good)).toBe(true);
  }, 60_000);
});
