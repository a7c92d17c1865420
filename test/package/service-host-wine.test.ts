/**
 * outpost-svc.exe run for real under Wine's Service Control Manager (Wine cannot start Node, so a small C program
 * stands in for outpost-agent.exe: test/package/fixtures/fake-agent-win.c). Installed as a service in a directory
 * with a space in its name, started and stopped with `net`: the host reads current.json, starts
 * versions\<v>\outpost-agent.exe run with OUTPOST_STOP_CHANNEL=stdin, restarts it with backoff when it exits, asks
 * it to stop with a "stop" line, follows current.json to a new version, and refuses a version that is a path.
 * Skips, saying why, without wine64 or mingw-w64 (`apt-get install -y wine64 gcc-mingw-w64-x86-64`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolMissing } from '../../scripts/package/installers/common.js';
import { buildMsi } from '../../scripts/package/installers/msi.js';
import { buildServiceHost } from '../../scripts/package/installers/svc.js';
import { repoRoot, tempDir } from '../support/collector.js';

const dir = tempDir('svc-wine');
// Reused between runs (creating a Wine prefix takes minutes on a loaded machine), like the runtimes in build.ts.
const prefix = join(process.env.OUTPOST_CACHE_DIR || join(homedir(), '.cache', 'outpost'), 'wine-prefix');
const install = join(dir.path, 'Out post'); // as under "C:\Program Files"
const winInstall = `Z:${install.replaceAll('/', '\\')}`;
const env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
let skipReason: string | undefined;
let wine = '';
let wineserver = '';

const found = (candidates: string[]) =>
  candidates.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0) ?? '';
/**
 * Runs a Wine program without blocking the test runner, its output through a file: Wine's services and server
 * inherit the program's descriptors and outlive it, so waiting for pipes to close would wait for them.
 */
let outputs = 0;
const w = (...args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const file = join(dir.path, `wine-${outputs++}.out`);
    const fd = openSync(file, 'w');
    const child = spawn(wine, args, { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const out = readFileSync(file, 'utf8');
      resolve({ status: code, stdout: out, stderr: out });
    });
  });
const fakeLog = () => readOr(join(prefix, 'drive_c/ProgramData/Outpost/fake-agent.log'));
// The service's %ProgramData% is C:\ProgramData on Windows; Wine gives services C:\users\Public.
const hostLog = () =>
  readOr(join(prefix, 'drive_c/users/Public/Outpost/logs/agent.log')) +
  readOr(join(prefix, 'drive_c/ProgramData/Outpost/logs/agent.log'));
function readOr(f: string): string {
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\nagent:\n${fakeLog()}\nhost:\n${hostLog()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const count = (text: string, s: string) => text.split(s).length - 1;
function resetLogs(crashes: number) {
  for (const f of [
    'drive_c/ProgramData/Outpost/fake-agent.log',
    'drive_c/users/Public/Outpost/logs/agent.log',
    'drive_c/ProgramData/Outpost/logs/agent.log',
  ])
    rmSync(join(prefix, f), { force: true });
  writeFileSync(join(prefix, 'drive_c/ProgramData/Outpost/fake-crashes.txt'), String(crashes));
}

beforeAll(async () => {
  wine = found(['/usr/lib/wine/wine64', 'wine64', 'wine']);
  wineserver = found(['/usr/lib/wine/wineserver64', 'wineserver64', 'wineserver']);
  if (!wine || !wineserver) {
    skipReason = 'wine64 is not installed (apt-get install -y wine64)';
  } else {
    try {
      const svc = buildServiceHost(install, '0.1.0', 1_700_000_000);
      if (!existsSync(svc)) throw new Error('no outpost-svc.exe');
    } catch (err) {
      if (!(err instanceof ToolMissing)) throw err;
      skipReason = err.message;
    }
  }
  if (skipReason) {
    console.warn(`SKIPPED service host under Wine: ${skipReason}`);
    return;
  }
  for (const v of ['0.1.0', '0.2.0']) {
    mkdirSync(join(install, 'versions', v), { recursive: true });
    const r = spawnSync('x86_64-w64-mingw32-gcc', [
      '-std=c11',
      '-O2',
      '-Wall',
      '-Werror',
      '-o',
      join(install, 'versions', v, 'outpost-agent.exe'),
      join(repoRoot, 'test/package/fixtures/fake-agent-win.c'),
    ]);
    if (r.status !== 0) throw new Error(`fake agent: ${r.stderr}`);
  }
  writeFileSync(join(install, 'current.json'), '{"version": "0.1.0"}\n');
  const boot = await w('cmd', '/c', 'echo'); // creates the prefix
  if (boot.status !== 0) throw new Error(`wine: ${boot.stderr}`);
  // A persistent wineserver: otherwise Wine ends its services a few seconds after the last program exits.
  spawnSync(wineserver, ['-k'], { env, stdio: 'ignore' });
  const persistent = spawnSync(wineserver, ['-p'], { env, stdio: 'ignore' }); // it stays: no pipes to hold
  if (persistent.status !== 0) throw new Error(`wineserver -p exited ${persistent.status}`);
  mkdirSync(join(prefix, 'drive_c/ProgramData/Outpost'), { recursive: true });
  await w('sc', 'delete', 'OutpostAgent'); // left by an interrupted run, if any
  const created = await w('sc', 'create', 'OutpostAgent', 'binpath=', `"${winInstall}\\outpost-svc.exe"`);
  if (created.status !== 0) throw new Error(`sc create: ${created.stdout}${created.stderr}`);
}, 600_000); // the first run creates the Wine prefix: minutes on a loaded machine

afterAll(async () => {
  if (!skipReason) {
    await w('net', 'stop', 'OutpostAgent');
    await w('sc', 'delete', 'OutpostAgent');
    spawnSync(wineserver, ['-k'], { env, stdio: 'ignore' });
  }
  dir[Symbol.dispose]();
});

describe('outpost-svc.exe under Wine', () => {
  it('answers --version and --print-command, and refuses a bad flag with 1639', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const v = await w(join(install, 'outpost-svc.exe'), '--version');
    expect(v.stdout.trim()).toBe('outpost-svc 0.1.0');
    const p = await w(join(install, 'outpost-svc.exe'), '--print-command');
    expect(p.stdout.trim()).toBe(`"${winInstall}\\versions\\0.1.0\\outpost-agent.exe" run`);
    // Wine hands the Windows exit code to Linux modulo 256: 1639 arrives as 103.
    expect((await w(join(install, 'outpost-svc.exe'), '--bogus')).status).toBe(1639 % 256);
  });

  it('as a service: starts the agent with the stop channel, restarts it with backoff, stops it with "stop"', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    resetLogs(2);
    const started = await w('net', 'start', 'OutpostAgent');
    expect(started.status, started.stdout + started.stderr).toBe(0);
    // Two crashes (exit 7), restarted after 1 s then 2 s; the third start stays up.
    await until('the third start', () => count(fakeLog(), 'start run') === 3);
    expect(count(fakeLog(), 'channel stdin')).toBe(3);
    expect(hostLog()).toContain('agent exited with code 7');
    expect(hostLog()).toContain('restarting the agent in 1000 ms');
    expect(hostLog()).toContain('restarting the agent in 2000 ms');
    expect(hostLog()).toContain(`agent started: ${winInstall.replaceAll('\\', '\\\\')}\\\\versions\\\\0.1.0`);
    const stopped = await w('net', 'stop', 'OutpostAgent');
    expect(stopped.status, stopped.stdout).toBe(0);
    // Wine's `net stop` may return before STOPPED: wait for what the host and the agent wrote.
    await until('the stop', () => hostLog().includes('"msg":"service stopped"'));
    expect(fakeLog().trim().split('\n').at(-1)).toBe('stopped stop-line');
    expect(hostLog()).toContain('"msg":"agent stopped"');
    expect(hostLog()).not.toContain('terminating it');
  }, 60_000);

  it('follows current.json to a new version at the next start', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    resetLogs(0);
    writeFileSync(join(install, 'current.json'), '{"version":"0.2.0","previous":"0.1.0"}');
    expect((await w('net', 'start', 'OutpostAgent')).status).toBe(0);
    await until('the agent to start', () => fakeLog().includes('start run'));
    expect(hostLog()).toContain('versions\\\\0.2.0\\\\outpost-agent.exe');
    expect((await w('net', 'stop', 'OutpostAgent')).status).toBe(0);
    await until('the stop', () => fakeLog().includes('stopped stop-line'));
  }, 60_000);

  it('refuses a version that is a path, starts nothing, and still stops at once', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    resetLogs(0);
    copyFileSync(join(install, 'versions/0.1.0/outpost-agent.exe'), join(dir.path, 'evil.exe'));
    writeFileSync(join(install, 'current.json'), '{"version":"..\\\\..\\\\evil"}');
    expect((await w('net', 'start', 'OutpostAgent')).status).toBe(0);
    await until('the refusal', () => hostLog().includes('has characters other than'));
    expect(fakeLog()).toBe('');
    const t0 = Date.now();
    expect((await w('net', 'stop', 'OutpostAgent')).status).toBe(0);
    await until('the stop', () => hostLog().includes('"msg":"service stopped"'));
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 60_000);
  it('the .msi under msiexec /qn: installs, writes the registry, starts the service; /x removes it', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    await w('net', 'stop', 'OutpostAgent');
    await w('sc', 'delete', 'OutpostAgent'); // the service the tests above registered by hand
    resetLogs(0);
    const msi = buildMsi({
      executable: join(install, 'versions/0.1.0/outpost-agent.exe'),
      serviceHost: join(install, 'outpost-svc.exe'),
      version: '0.1.0',
      platform: 'win-x64',
      outDir: join(dir.path, 'msi'),
      epoch: 1_700_000_000,
    });
    const winMsi = `Z:${msi.replaceAll('/', '\\')}`;
    // A server without a token: the launch condition refuses (1603, seen as 1603 % 256).
    expect((await w('msiexec', '/i', winMsi, '/qn', 'SERVER=https://c.example')).status).toBe(1603 % 256);
    const installed = await w(
      'msiexec',
      '/i',
      winMsi,
      '/qn',
      'SERVER=https://c.example:8443',
      'TOKEN=oet_from_msi',
      'CA_FINGERPRINT=AB:CD',
    );
    expect(installed.status, installed.stdout).toBe(0);
    const programFiles = join(prefix, 'drive_c/Program Files/Outpost');
    expect(JSON.parse(readFileSync(join(programFiles, 'current.json'), 'utf8'))).toEqual({ version: '0.1.0' });
    expect(existsSync(join(programFiles, 'versions/0.1.0/outpost-agent.exe'))).toBe(true);
    const reg = await w('reg', 'query', 'HKLM\\SOFTWARE\\Outpost');
    expect(reg.stdout).toMatch(/^ {4}Server {4}REG_SZ {4}https:\/\/c\.example:8443\r?$/m);
    expect(reg.stdout).toMatch(/^ {4}Token {4}REG_SZ {4}oet_from_msi\r?$/m);
    expect((await w('sc', 'query', 'OutpostAgent')).stdout).toMatch(/STATE +: 4 +RUNNING/);
    await until('the agent started by the installed service', () => fakeLog().includes('channel stdin'));
    const removed = await w('msiexec', '/x', winMsi, '/qn');
    expect(removed.status, removed.stdout).toBe(0);
    await until('the agent to stop', () => fakeLog().includes('stopped stop-line'));
    expect(existsSync(join(programFiles, 'outpost-svc.exe'))).toBe(false);
    expect((await w('sc', 'query', 'OutpostAgent')).status).not.toBe(0);
    // Not asserted: whether /x removes the registry values. Wine's msi removed some, all or none of them across runs
    // (the component's condition is false at uninstall); the agent deletes the token at its first start anyway.
  }, 120_000);
});
