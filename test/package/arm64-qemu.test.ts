/**
 * The packaged linux-arm64 agent run for real, under user-mode emulation (`qemu-aarch64 -L /usr/aarch64-linux-gnu`,
 * Debian's qemu-user and libc6-arm64-cross: the AArch64 dynamic loader, libc 2.36, libstdc++ and libatomic). It reports
 * its build, enrolls with a token against a real collector on loopback, comes online, sends its inventory (whose CPU
 * architecture is the emulated arm64), and opens a shell through the PTY addon it carries — the one compiled here from
 * node-pty's source for glibc 2.28 (scripts/package/pty-compile.ts), checked in its extracted form.
 *
 * What this does not show: real arm64 hardware, and a glibc 2.28 arm64 system (the emulated libc is Debian 12's 2.36;
 * the 2.28 floor rests on objdump, checked in cross-targets.test.ts). Programs the agent starts (the shell, inventory
 * commands) are this machine's x86-64 ones, which the kernel runs natively. See docs/0009-packaging.md.
 *
 * Shares the cross-target build (test/support/package-build.ts) with cross-targets.test.ts. Skips, saying why, when
 * qemu-aarch64 or the arm64 libc is missing, or the build's inputs cannot be had (the aarch64 cross compiler among them).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall, ShellClient } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glibcFloor } from '../../scripts/package/build.js';
import { type Proc, spawnProcess, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { BASE_VERSION, packageAgent } from '../support/package-build.js';
import { OutputBuffer, waitOnline } from '../support/shell.js';

const SYSROOT = '/usr/aarch64-linux-gnu';
const dir = tempDir('arm64-qemu');
const exe = join(dir.path, 'outpost-agent');
const nativeCache = join(dir.path, 'cache', 'native');
const configFile = join(dir.path, 'agent.json');
const stateDir = join(dir.path, 'state');
let skipReason: string | undefined;
let c: TestCollector | undefined;
let agent: Proc | undefined;
let agentId = '';

/** Why the emulated run cannot happen here, or undefined. */
function missingEmulation(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the emulated run is set up for a linux-x64 host';
  if (spawnSync('qemu-aarch64', ['--version']).error)
    return 'qemu-aarch64 is not installed (apt-get install qemu-user)';
  for (const lib of ['lib/ld-linux-aarch64.so.1', 'lib/libstdc++.so.6', 'lib/libatomic.so.1'])
    if (!existsSync(join(SYSROOT, lib)))
      return `${SYSROOT}/${lib} is missing (apt-get install libc6-arm64-cross libstdc++6-arm64-cross)`;
  return undefined;
}

/** The executable under emulation, with a minimal environment of its own. */
function runExe(args: string[], extraEnv: Record<string, string> = {}): Proc {
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: dir.path,
    LANG: 'C.UTF-8',
    OUTPOST_AGENT_CONFIG: configFile,
    OUTPOST_AGENT_STATE: stateDir,
    OUTPOST_NATIVE_CACHE: nativeCache,
    OUTPOST_INVENTORY: 'off',
    OUTPOST_LOG_LEVEL: 'info',
    ...extraEnv,
  };
  return spawnProcess('qemu-aarch64', ['-L', SYSROOT, exe, ...args], env, dir.path);
}

beforeAll(async () => {
  skipReason = missingEmulation();
  if (!skipReason) {
    // The same arguments as cross-targets.test.ts: one build per run serves both files.
    const built = await packageAgent({ targets: ['linux-arm64', 'win-x64', 'darwin-x64'] });
    if (built.skip !== undefined) skipReason = `the linux-arm64 executable cannot be built here: ${built.skip}`;
    else {
      copyFileSync(join(built.dir, 'outpost-agent-linux-arm64'), exe);
      chmodSync(exe, 0o755);
      mkdirSync(stateDir, { recursive: true });
      c = await startTestCollector();
    }
  }
  if (skipReason) console.warn(`SKIPPED linux-arm64 emulated run: ${skipReason}`);
}, 600_000);

afterAll(async () => {
  await agent?.kill('SIGKILL');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe('linux-arm64 agent executable under qemu-aarch64', () => {
  it('reports its build with --version', async (ctx) => {
    if (skipReason) ctx.skip();
    const started = Date.now();
    const p = runExe(['--version']);
    expect(await p.exited, p.stderr()).toBe(0);
    expect(p.stdout().trim()).toBe(BASE_VERSION);
    console.info(`arm64 --version under qemu: ${Date.now() - started} ms`);
    expect(existsSync(nativeCache)).toBe(false);
  }, 60_000);

  it('enrolls, comes online, sends its inventory and opens a shell through the PTY addon built here', async (ctx) => {
    if (skipReason) ctx.skip();
    const { token } = await c!.enrollmentToken();
    const args = ['enroll', '--server', c!.agentUrl, '--token', token, '--state-dir', stateDir];
    if (c!.fingerprint) args.push('--ca-fingerprint', c!.fingerprint);
    const enroll = runExe(args);
    expect(await enroll.exited, enroll.stderr()).toBe(0);
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    agentId = config.agentId as string;
    writeFileSync(
      configFile,
      JSON.stringify({
        ...config,
        shell: { user: 'nobody', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'] },
      }),
    );
    const started = Date.now();
    // memory.node's first release after a second (runtime/memory-release.ts), not a minute: deterministic here.
    agent = runExe(['run'], { OUTPOST_INVENTORY: 'on', OUTPOST_MEMORY_RELEASE_MS: '1000' });
    await waitOnline(c!.admin, agentId, 60_000);
    console.info(`arm64 agent online under qemu after ${Date.now() - started} ms`);

    // The inventory arrives, and the CPU it describes is the emulated one: this is the arm64 build running.
    type Inv = { probes: { probe: string; rows: Record<string, unknown>[] }[] };
    await expect
      .poll(
        async () =>
          (await apiCall<Inv>(c!.admin, 'GET', `/api/v1/agents/${agentId}/inventory`).catch(() => undefined))?.probes
            .find((p) => p.probe === 'cpu')
            ?.rows.at(0)?.arch,
        { timeout: 60_000, interval: 500 },
      )
      .toBe('arm64');
    console.info(`arm64 inventory (cpu: arm64) at the collector after ${Date.now() - started} ms`);

    const s = await ShellClient.open(c!.admin, agentId);
    const out = new OutputBuffer();
    s.onData(out.push);
    s.write('echo result=$((6*7)); tty; echo done-$((1+1))\n');
    await out.waitFor(/done-2/, 30_000);
    s.write('exit\n');
    await s.ended;
    expect(out.text).toMatch(/result=42/);
    expect(out.text).toMatch(/\/dev\/pts\/\d+/);
    console.info(`arm64 shell opened, answered and closed: ${Date.now() - started} ms after start`);
    // CPU time of the emulated agent so far (utime + stime, in clock ticks of 10 ms): a figure the load cannot move.
    const stat = readFileSync(`/proc/${agent.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    console.info(`arm64 agent CPU under qemu: ${(Number(stat[11]) + Number(stat[12])) * 10} ms`);

    // memory.node loaded and ran in the emulated process (whether the kernel paged anything out cannot be seen
    // here: it gets qemu's advice, not the agent's).
    await agent.waitFor(/"msg":"memory released"/, 30_000);

    // The addons (the one the shell went through, and memory.node): each extracted under its SHA-256, an AArch64
    // ELF needing glibc ≤ 2.28.
    const keys = readdirSync(nativeCache);
    expect(keys).toHaveLength(2);
    const files = keys.map((k) => join(nativeCache, k, readdirSync(join(nativeCache, k))[0]!));
    expect(files.map((f) => f.slice(f.lastIndexOf('/') + 1)).sort()).toEqual(['memory.node', 'pty.node']);
    for (const f of files) {
      expect(readFileSync(f).readUInt16LE(18)).toBe(0xb7);
      expect(glibcFloor(f)).toBe('2.17');
    }
  }, 150_000);
});
