/**
 * The packaged agent (`pnpm package`, linux-x64) run for real where no Node exists: copied into an empty directory
 * (no node_modules above it), with a PATH holding only a few system tools and, where a mount namespace can be made
 * (root), every `node` binary on the machine hidden under /dev/null. It enrolls with a token against a real collector
 * on loopback, comes online and opens a shell through the PTY addon it carries inside; a tampered cached addon is
 * replaced before it is loaded. The build runs twice: the two executables must be byte-identical.
 *
 * Needs `pnpm build` first. The Node runtime comes from the npm registry (cached under ~/.cache/outpost); the test
 * is skipped, saying why, only when it cannot be obtained.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ShellClient } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Proc,
  repoRoot,
  spawnProcess,
  startTestCollector,
  type TestCollector,
  tempDir,
} from '../support/collector.js';
import { packageAgent } from '../support/package-build.js';
import { OutputBuffer, waitOnline } from '../support/shell.js';

const dir = tempDir('package-exe');
const exeName = 'outpost-agent-linux-x64';
const host = join(dir.path, 'host');
const exe = join(host, 'outpost-agent');
const nativeCache = join(host, 'cache', 'native');
const configFile = join(host, 'agent.json');
const stateDir = join(host, 'state');
let skipReason: string | undefined;
let c: TestCollector | undefined;
let agent: Proc | undefined;
let agentId = '';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The linux-x64 build: the run's shared one, or (`fresh`) one made anew to compare bytes with. */
async function buildDir(fresh = false): Promise<string> {
  const built = await packageAgent({ targets: ['linux-x64'], fresh });
  if (built.skip !== undefined) {
    skipReason = `the Node runtime for linux-x64 cannot be obtained: ${built.skip}`;
    return '';
  }
  return built.dir;
}
let built = '';

/** Hides every node binary and global node_modules in a private mount namespace (root only), or null. */
const hideNode =
  existsSync('/bin/mount') &&
  spawnSync('/usr/bin/unshare', ['-m', '--propagation', 'private', '/bin/mount', '--bind', '/dev/null', '/dev/null'])
    .status === 0
    ? [
        'for f in /usr/bin/node /bin/node /usr/local/bin/node; do [ -e "$f" ] && /bin/mount --bind /dev/null "$f"; done',
        'for d in /usr/lib/node_modules /usr/local/lib/node_modules; do [ -d "$d" ] && /bin/mount -t tmpfs none "$d"; done',
        'exec "$0" "$@"',
      ].join('; ')
    : null;

/** Runs the executable with a minimal environment and no Node reachable. */
function runExe(args: string[], extraEnv: Record<string, string> = {}): Proc {
  const env = {
    ...extraEnv,
    PATH: join(host, 'bin'),
    HOME: host,
    LANG: 'C.UTF-8',
    OUTPOST_AGENT_CONFIG: configFile,
    OUTPOST_AGENT_STATE: stateDir,
    OUTPOST_NATIVE_CACHE: nativeCache,
    OUTPOST_INVENTORY: 'off',
    OUTPOST_LOG_LEVEL: 'info',
  };
  return hideNode
    ? spawnProcess(
        '/usr/bin/unshare',
        ['-m', '--propagation', 'private', '/bin/sh', '-c', hideNode, exe, ...args],
        env,
        host,
      )
    : spawnProcess(exe, args, env, host);
}

beforeAll(async () => {
  built = await buildDir();
  if (skipReason) {
    console.warn(`SKIPPED packaged agent tests: ${skipReason}`);
    return;
  }
  // An empty host directory: the executable, a few tools on PATH (no node), nothing else.
  mkdirSync(join(host, 'bin'), { recursive: true });
  copyFileSync(join(built, exeName), exe);
  chmodSync(exe, 0o755);
  for (const tool of ['sh', 'bash', 'id', 'cat']) symlinkSync(`/bin/${tool}`, join(host, 'bin', tool));
  c = await startTestCollector();
}, 300_000);

afterAll(async () => {
  await agent?.kill('SIGKILL');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** Opens a shell on the agent and runs `script` in it, returning the output once `until` shows. */
async function inShell(script: string, until: RegExp): Promise<string> {
  const s = await ShellClient.open(c!.admin, agentId);
  const out = new OutputBuffer();
  s.onData(out.push);
  s.write(`${script}\n`);
  await out.waitFor(until, 15_000);
  s.write('exit\n');
  await s.ended;
  return out.text;
}

describe('packaged agent executable (linux-x64)', () => {
  it('prints its version with no Node on the machine', async (ctx) => {
    if (skipReason) ctx.skip();
    const p = runExe(['--version']);
    expect(await p.exited).toBe(0);
    expect(p.stdout().trim()).toBe(JSON.parse(readFileSync(join(repoRoot, 'agent/package.json'), 'utf8')).version);
    // `--version` never extracts an addon.
    expect(existsSync(nativeCache)).toBe(false);
  });

  it('starts from the V8 code cache built into it: accepted, with no warning', async (ctx) => {
    if (skipReason) ctx.skip();
    // NODE_DEBUG_NATIVE=SEA makes the runtime say whether it used the cache (scripts/package/build.ts builds it
    // with the executable's own V8 flags; a mismatch is rejected and the CLI compiled from source at every start).
    const p = spawnProcess(exe, ['--version'], { PATH: join(host, 'bin'), HOME: host, NODE_DEBUG_NATIVE: 'SEA' }, host);
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toMatch(/SEA module code cache accepted/);
    expect(p.stderr()).not.toMatch(/rejected/i);
  });

  it('answers --version without loading child_process (commander spawns lazily)', async (ctx) => {
    if (skipReason) ctx.skip();
    // NODE_DEBUG_NATIVE=CODE_CACHE names every built-in module the runtime compiles (docs/0009, "Fourth round").
    const env = { PATH: join(host, 'bin'), HOME: host, NODE_DEBUG_NATIVE: 'CODE_CACHE' };
    const p = spawnProcess(exe, ['--version'], env, host);
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toMatch(/Code cache of internal\/main\/embedding/);
    expect(p.stderr()).not.toMatch(/Code cache of (child_process|dgram)\b/);
  });

  it('enrolls with a token, comes online and opens a shell through its embedded PTY addon', async (ctx) => {
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
    // The executable's start-up pages released after a second instead of a minute (runtime/memory-release.ts).
    agent = runExe(['run'], { OUTPOST_MEMORY_RELEASE_MS: '1000' });
    await waitOnline(c!.admin, agentId);
    const released = JSON.parse((await agent.waitFor(/\{[^\n{}]*"msg":"memory released"\}/))[0]) as Record<
      string,
      number
    >;
    expect(released.error).toBe(0);
    expect(released.mappings).toBeGreaterThanOrEqual(2);
    expect(released.rssBefore! - released.rssAfter!).toBeGreaterThan(10 * 2 ** 20);

    // The shell, run from pages faulted back in.
    const text = await inShell('echo result=$((6*7)); node --version; echo node-rc=$?', /node-rc=\d+/);
    expect(text).toMatch(/result=42/);
    // No Node reachable from the agent's environment: not found (PATH) or not executable (hidden).
    expect(text).toMatch(hideNode ? /node-rc=12[67]/ : /node-rc=127/);

    // Each addon was extracted to a cache directory named by its SHA-256, owner-only.
    const keys = readdirSync(nativeCache);
    expect(keys).toHaveLength(2);
    expect(keys.map((k) => readdirSync(join(nativeCache, k))[0]).sort()).toEqual(['memory.node', 'pty.node']);
    for (const k of keys) expect(sha256(join(nativeCache, k, readdirSync(join(nativeCache, k))[0]!))).toBe(k);
  });

  it('replaces a tampered cached addon before loading it, and the shell still works', async (ctx) => {
    if (skipReason || !agentId) ctx.skip();
    await agent!.kill('SIGTERM');
    const key = readdirSync(nativeCache).find((k) => existsSync(join(nativeCache, k, 'pty.node')));
    const cached = join(nativeCache, key!, 'pty.node');
    chmodSync(cached, 0o600);
    // If this were loaded, dlopen would fail and no shell could open.
    writeFileSync(cached, 'not an ELF file: a tampered addon');
    agent = runExe(['run']);
    await waitOnline(c!.admin, agentId);
    const text = await inShell('echo again=$((2+3))', /again=5/);
    expect(text).toMatch(/again=5/);
    await agent.waitFor(/replaced before use/);
    expect(sha256(cached)).toBe(key);
  });

  it('refuses to load from a cache directory others can write, without crashing, and recovers once it is fixed', async (ctx) => {
    if (skipReason || !agentId) ctx.skip();
    await agent!.kill('SIGTERM');
    chmodSync(nativeCache, 0o777);
    agent = runExe(['run']);
    await waitOnline(c!.admin, agentId);
    await expect(inShell('echo never', /never/)).rejects.toThrow();
    await agent.waitFor(/OUTPOST_E_NATIVE_CACHE_UNSAFE/);
    // Still connected after the refusal.
    await waitOnline(c!.admin, agentId);
    chmodSync(nativeCache, 0o700);
    await agent.kill('SIGTERM');
    agent = runExe(['run']);
    await waitOnline(c!.admin, agentId);
    expect(await inShell('echo fixed=$((1+1))', /fixed=2/)).toMatch(/fixed=2/);
  });

  it('builds byte-identical executables from one commit, with no build path inside', async (ctx) => {
    if (skipReason) ctx.skip();
    const again = await buildDir(true);
    const a = readFileSync(join(built, exeName));
    const b = readFileSync(join(again, exeName));
    expect(createHash('sha256').update(a).digest('hex')).toBe(createHash('sha256').update(b).digest('hex'));
    expect(a.indexOf(Buffer.from(repoRoot))).toBe(-1);
    const manifest = JSON.parse(readFileSync(join(built, 'manifest.json'), 'utf8')) as {
      files: { file: string; platform: string; size: number; sha256: string; glibc?: string; stripped?: boolean }[];
    };
    expect(manifest.files).toEqual([
      {
        file: exeName,
        platform: 'linux-x64',
        node: expect.stringMatching(/^\d+\.\d+\.\d+$/),
        size: a.length,
        sha256: createHash('sha256').update(a).digest('hex'),
        glibc: '2.28',
        stripped: true,
      },
    ]);
  }, 300_000);
});
