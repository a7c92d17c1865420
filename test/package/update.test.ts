/**
 * Self-update with the real packaged executables (issue 15, docs/0010-releases.md): two builds of the agent that
 * differ only in version (`scripts/package/build.ts --version`), signed offline with `outpost release sign`,
 * published with `outpost releases publish` to a real collector over pinned TLS, and assigned per agent. Each agent
 * runs from its own temp install root (`versions/<v>/outpost-agent` + `current` symlink) under a supervisor loop
 * standing in for systemd (restart on every exit). It checks:
 *   - B verified, staged, pre-flighted, swapped: the agent comes back as B (hello), same identity, watcher done;
 *   - a broken B (exits at start) is rolled back to A by the watcher by itself, and the outcome is reported;
 *   - tampered bytes, expired metadata, an older signed release, another platform's release, a release signed by a
 *     key the agent does not trust: each refused with its reason, nothing swapped;
 *   - SIGKILL of the agent during the swap: it comes back on A or B, never neither.
 * Needs `pnpm build` first; skipped, saying why, when the Node runtime for linux-x64 cannot be obtained or the host
 * is not linux-x64.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { releasePaths, releaseTargetPath, resignSnapshotAndTimestamp } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpostBin, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { BASE_VERSION, NEXT_VERSION, packageAgent } from '../support/package-build.js';

/** This checkout's agent and the same code one patch higher: the builds the systemd upgrade test shares. */
const A = BASE_VERSION;
const B = NEXT_VERSION;
const PLATFORM = 'linux-x64';
const DEADLINE_MS = 8000;
const dir = tempDir('update');
const keys = join(dir.path, 'keys');
let skipReason: string | undefined =
  process.platform === 'linux' && process.arch === 'x64' ? undefined : 'the packaged update test runs on linux-x64';
let c: TestCollector;
const supervisors: Supervisor[] = [];

/** Output directory of each version's linux build. */
const builds = new Map<string, string>();
async function build(version: string): Promise<void> {
  const built = await packageAgent({ targets: [PLATFORM], version });
  if (built.skip !== undefined) skipReason = `the Node runtime for ${PLATFORM} cannot be obtained: ${built.skip}`;
  else builds.set(version, built.dir);
}

/** Runs a program to its end without blocking this process (the collector runs here); rejects on failure. */
function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${file} ${args.join(' ')} failed (${code}):\n${out}\n${err}`)),
    );
  });
}

/** Runs the technicians' CLI (`outpost …`), against the test collector unless `remote` is false. */
function outpost(args: string[], opts: { remote?: boolean } = { remote: true }): Promise<string> {
  const global = opts.remote
    ? ['--server', c.apiUrl, '--token', c.admin.token!, ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : [])]
    : [];
  return run(process.execPath, [outpostBin, ...global, ...args]);
}

/** A directory with one fake executable per platform that prints `version` (for releases that are never run). */
function fakePackages(version: string, platform = PLATFORM, body = `echo ${version}`): string {
  const d = join(dir.path, `fake-${version}-${platform}`);
  mkdirSync(d, { recursive: true });
  const f = join(d, `outpost-agent-${platform}`);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
  return d;
}

/** Signs a packages directory and publishes the repository, both through the CLI as an admin would. */
async function signAndPublish(packagesDir: string, version: string, extra: string[] = []): Promise<void> {
  await outpost(['release', 'sign', packagesDir, '--keys', keys, '--release', version, ...extra], { remote: false });
  await outpost(['releases', 'publish', keys]);
}

/** `service restart on exit`, like systemd's Restart=always: runs `<root>/current/outpost-agent run` forever. */
class Supervisor {
  child: ChildProcess | undefined;
  log = '';
  exits: (number | null)[] = [];
  starts = 0;
  #stopped = false;
  constructor(
    readonly root: string,
    readonly env: NodeJS.ProcessEnv,
  ) {
    supervisors.push(this);
    this.#start();
  }
  #start(): void {
    if (this.#stopped) return;
    this.starts++;
    const child = spawn(join(this.root, 'current', 'outpost-agent'), ['run'], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => {
      this.log += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.log += d.toString();
    });
    child.once('exit', (code) => {
      this.exits.push(code);
      setTimeout(() => this.#start(), 200);
    });
    child.once('error', (err) => {
      this.log += `spawn error: ${err.message}\n`;
    });
  }
  async stop(): Promise<void> {
    this.#stopped = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }
}

interface Agent {
  id: string;
  root: string;
  stateDir: string;
  configFile: string;
  sup: Supervisor;
}

/** A fresh install of A in its own root, enrolled, trusting `rootFile`, running under a supervisor. */
async function installAgent(name: string, rootFile = join(releasePaths(keys).metadata, '1.root.json')): Promise<Agent> {
  const home = join(dir.path, name);
  const root = join(home, 'opt');
  mkdirSync(join(root, 'versions', A), { recursive: true });
  copyFileSync(join(builds.get(A)!, `outpost-agent-${PLATFORM}`), join(root, 'versions', A, 'outpost-agent'));
  chmodSync(join(root, 'versions', A, 'outpost-agent'), 0o755);
  symlinkSync(join('versions', A), join(root, 'current'));
  const configFile = join(home, 'agent.json');
  const stateDir = join(home, 'state');
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: home,
    OUTPOST_AGENT_CONFIG: configFile,
    OUTPOST_AGENT_STATE: stateDir,
    OUTPOST_INVENTORY: 'off',
    OUTPOST_LOG_LEVEL: 'info',
  };
  const { token } = await c.enrollmentToken();
  const args = ['enroll', '--server', c.agentUrl, '--token', token, '--state-dir', stateDir];
  if (c.fingerprint) args.push('--ca-fingerprint', c.fingerprint);
  await run(join(root, 'current', 'outpost-agent'), args, env);
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  // What install will write: the root to trust and (for the test) a short health deadline. The install root is not
  // configured: the agent finds it from its own executable's path.
  writeFileSync(
    configFile,
    JSON.stringify({ ...config, updateRoot: rootFile, update: { healthDeadlineMs: DEADLINE_MS } }),
  );
  const sup = new Supervisor(root, env);
  const agent = { id: config.agentId as string, root, stateDir, configFile, sup };
  await until(async () => (await agentInfo(agent)).status === 'online', 20_000, `${name} online`, agent);
  return agent;
}

async function agentInfo(a: Agent) {
  return apiCall<{ status: string; agentVersion: string }>(c.admin, 'GET', `/api/v1/agents/${a.id}`);
}

interface Status {
  phase: string;
  from: string;
  to: string;
  code: string | null;
  reason: string | null;
}
async function statuses(a: Agent): Promise<Status[]> {
  return (await apiCall<{ statuses: Status[] }>(c.admin, 'GET', `/api/v1/agents/${a.id}/updates`)).statuses;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, a?: Agent) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${a ? `\nagent log:\n${a.sup.log.slice(-4000)}` : ''}`);
}

const pointer = (a: Agent) => readlinkSync(join(a.root, 'current'));

/** Assigns a version, waits for the agent's refusal, and checks nothing was swapped or kept. */
async function expectRefused(a: Agent, version: string, code: string): Promise<Status> {
  const before = (await statuses(a)).length;
  await outpost(['releases', 'assign', a.id, version]);
  let s: Status | undefined;
  await until(
    async () => {
      const all = await statuses(a);
      s = all.length > before ? all.find((x) => x.phase === 'refused' && x.to === version) : undefined;
      return s !== undefined;
    },
    20_000,
    `refusal of ${version}`,
    a,
  );
  expect(s!.code, s!.reason ?? '').toBe(code);
  expect(pointer(a)).toBe(join('versions', A));
  expect(existsSync(join(a.root, 'versions', version))).toBe(false);
  expect(existsSync(join(a.stateDir, 'update', 'marker.json'))).toBe(false);
  expect((await agentInfo(a)).agentVersion).toBe(A);
  return s!;
}

beforeAll(async () => {
  if (skipReason) return;
  await build(A);
  if (skipReason) return;
  await build(B);
  c = await startTestCollector();
  await outpost(['release', 'keys', 'init', '--out', keys], { remote: false });
  await signAndPublish(builds.get(B)!, B);
}, 300_000);

afterAll(async () => {
  for (const s of supervisors) await s.stop();
  // Let any watcher still inside its deadline finish before the files go.
  await new Promise((r) => setTimeout(r, 200));
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe('agent self-update with the packaged executables', () => {
  it('verifies B, swaps to it and comes back as B with the same identity; the watcher then stands down', async (ctx) => {
    if (skipReason) ctx.skip();
    const a = await installAgent('good');
    expect(await outpost(['releases', 'list'])).toMatch(new RegExp(`${B.replaceAll('.', '\\.')}\\s+${PLATFORM}`));
    const t0 = Date.now();
    await outpost(['releases', 'assign', a.id, B]);
    await until(async () => (await agentInfo(a)).agentVersion === B, 60_000, 'the agent to report B', a);
    // A figure for docs/0010-releases.md: assignment to B's hello (verify, 119 MB download, pre-flight, restart).
    console.log(`update: assigned -> B online in ${Date.now() - t0} ms`);
    expect(pointer(a)).toBe(join('versions', B));
    // The old version stays (rollback needs it); the service was asked to restart with the update exit code.
    expect(existsSync(join(a.root, 'versions', A, 'outpost-agent'))).toBe(true);
    expect(a.sup.exits).toContain(75);
    await until(async () => (await statuses(a)).some((s) => s.phase === 'healthy'), 20_000, 'healthy', a);
    expect((await statuses(a)).map((s) => s.phase).reverse()).toEqual(['swapped', 'healthy']);
    // The watcher keeps the new version at its deadline and removes the marker.
    await until(() => !existsSync(join(a.stateDir, 'update', 'marker.json')), DEADLINE_MS + 10_000, 'watcher', a);
    expect(pointer(a)).toBe(join('versions', B));
    expect(JSON.parse(readFileSync(join(a.stateDir, 'update', 'highest.json'), 'utf8')).version).toBe(B);
    const audit = await apiCall<{ events: { type: string; agentId: string | null }[] }>(
      c.admin,
      'GET',
      `/api/v1/audit?agentId=${a.id}`,
    );
    expect(audit.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['agent.update', 'agent.update.swapped', 'agent.update.healthy']),
    );
    await a.sup.stop();
  }, 120_000);

  it('rolls a broken B (exits at start) back to A by itself, and reports the outcome', async (ctx) => {
    if (skipReason) ctx.skip();
    const broken = '1.2.0';
    // Prints its version for the pre-flight, then fails at every start: what a bad release looks like.
    await signAndPublish(
      fakePackages(broken, PLATFORM, `[ "$1" = --version ] && { echo ${broken}; exit 0; }; echo crashing >&2; exit 1`),
      broken,
    );
    const a = await installAgent('broken');
    const t0 = Date.now();
    await outpost(['releases', 'assign', a.id, broken]);
    await until(
      async () => (await statuses(a)).some((s) => s.phase === 'rolled_back'),
      DEADLINE_MS + 30_000,
      'rollback',
      a,
    );
    console.log(`update: broken release rolled back and reported ${Date.now() - t0} ms after the assignment`);
    const rolled = (await statuses(a)).find((s) => s.phase === 'rolled_back')!;
    expect(rolled).toMatchObject({ from: A, to: broken, code: 'OUTPOST_E_UPDATE_ROLLED_BACK' });
    expect(rolled.reason).toMatch(/authenticated hello/);
    expect(pointer(a)).toBe(join('versions', A));
    await until(async () => (await agentInfo(a)).status === 'online', 20_000, 'back online', a);
    expect((await agentInfo(a)).agentVersion).toBe(A);
    // The broken version did start (and fail) under the supervisor before the watcher gave up on it.
    expect(a.sup.exits.filter((x) => x === 1).length).toBeGreaterThan(0);
    expect(existsSync(join(a.stateDir, 'update', 'outcome.json'))).toBe(false);
    // The collector resends the latest assignment at each connection; the agent does not act on it twice.
    await new Promise((r) => setTimeout(r, 2000));
    expect(pointer(a)).toBe(join('versions', A));
    expect((await statuses(a)).filter((s) => s.phase === 'swapped')).toHaveLength(1);
    await a.sup.stop();
  }, 120_000);

  it('refuses tampered bytes, an older signed release, another platform, untrusted keys and expired metadata', async (ctx) => {
    if (skipReason) ctx.skip();
    const a = await installAgent('refusals');

    // Tampered: signed and published, then the bytes on the collector change (a collector broken into).
    await signAndPublish(fakePackages('1.3.0'), '1.3.0');
    appendFileSync(join(c.dataDir, 'releases', 'live', 'targets', releaseTargetPath(PLATFORM, '1.3.0')), 'evil\n');
    await expectRefused(a, '1.3.0', 'OUTPOST_E_UPDATE_TAMPERED');

    // An older release, genuinely signed: agents only go forward.
    await signAndPublish(fakePackages('0.0.9'), '0.0.9');
    expect((await expectRefused(a, '0.0.9', 'OUTPOST_E_UPDATE_DOWNGRADE')).reason).toMatch(/not newer/);

    // Signed for another platform only.
    await signAndPublish(fakePackages('1.4.0', 'linux-arm64'), '1.4.0');
    await expectRefused(a, '1.4.0', 'OUTPOST_E_UPDATE_NO_TARGET');

    // An agent that trusts another root (its keys signed nothing here) refuses even the good B.
    const otherKeys = join(dir.path, 'other-keys');
    await outpost(['release', 'keys', 'init', '--out', otherKeys], { remote: false });
    const stranger = await installAgent('stranger', join(releasePaths(otherKeys).metadata, '1.root.json'));
    await expectRefused(stranger, B, 'OUTPOST_E_UPDATE_UNVERIFIED');
    await stranger.sup.stop();

    // Expired: the collector serves a newer but expired timestamp and snapshot (a freeze past their lifetime).
    const stale = join(dir.path, 'keys-stale');
    cpSync(keys, stale, { recursive: true });
    resignSnapshotAndTimestamp(stale, { now: Date.now() - 30 * 86_400_000, lifetimes: { timestamp: 86_400_000 } });
    const live = join(c.dataDir, 'releases', 'live', 'metadata');
    const saved = ['timestamp.json', 'snapshot.json'].map((f) => [f, readFileSync(join(live, f))] as const);
    for (const [f] of saved) copyFileSync(join(releasePaths(stale).metadata, f), join(live, f));
    await expectRefused(a, B, 'OUTPOST_E_UPDATE_EXPIRED');
    for (const [f, bytes] of saved) writeFileSync(join(live, f), bytes);
    await a.sup.stop();
  }, 180_000);

  it('comes back on A or B, never neither, when SIGKILLed during the swap', async (ctx) => {
    if (skipReason) ctx.skip();
    const a = await installAgent('sigkill');
    const marker = join(a.stateDir, 'update', 'marker.json');
    await outpost(['releases', 'assign', a.id, B]);
    // Kill the agent the moment the marker exists: between the marker and the flip, or just after it.
    await until(() => existsSync(marker), 60_000, 'the marker', a);
    const victim = a.sup.child!;
    victim.kill('SIGKILL');
    // At every instant the pointer names a complete version that answers --version.
    const current = spawnSync(join(a.root, 'current', 'outpost-agent'), ['--version'], { encoding: 'utf8' });
    expect([A, B]).toContain(current.stdout.trim());
    await until(
      async () => {
        const info = await agentInfo(a);
        return info.status === 'online' && !existsSync(marker) && (info.agentVersion === A || info.agentVersion === B);
      },
      DEADLINE_MS + 30_000,
      'the agent back, judged',
      a,
    );
    const version = (await agentInfo(a)).agentVersion;
    console.log(`update: SIGKILLed mid-swap, came back on ${version}`);
    expect(pointer(a)).toBe(join('versions', version));
    const phases = (await statuses(a)).map((s) => s.phase);
    // Either the swap went through (B healthy) or it was judged interrupted and reported (still A).
    expect(version === B ? phases.includes('healthy') : phases.includes('rolled_back')).toBe(true);
    await a.sup.stop();
  }, 120_000);
});
