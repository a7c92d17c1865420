/**
 * Self-update with the real packaged executables (issue 15, docs/0011-releases.md): two builds of the agent that
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
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { releasePaths, releaseTargetPath, resignSnapshotAndTimestamp } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { BASE_VERSION, NEXT_VERSION, packageAgent } from '../support/package-build.js';
import {
  brokenPackages,
  fakePackages as fakePackagesIn,
  type InstalledAgent,
  installPackagedAgent,
  outpostCli,
  PLATFORM,
  pointer,
  stopAllSupervisors,
  until,
} from '../support/supervised-agent.js';

/** This checkout's agent and the same code one patch higher: the builds the systemd upgrade test shares. */
const A = BASE_VERSION;
const B = NEXT_VERSION;
const DEADLINE_MS = 8000;
const dir = tempDir('update');
const keys = join(dir.path, 'keys');
let skipReason: string | undefined =
  process.platform === 'linux' && process.arch === 'x64' ? undefined : 'the packaged update test runs on linux-x64';
let c: TestCollector;

/** Output directory of each version's linux build. */
const builds = new Map<string, string>();
async function build(version: string): Promise<void> {
  const built = await packageAgent({ targets: [PLATFORM], version });
  if (built.skip !== undefined) skipReason = `the Node runtime for ${PLATFORM} cannot be obtained: ${built.skip}`;
  else builds.set(version, built.dir);
}

/** Runs the technicians' CLI (`outpost …`), against the test collector unless `remote` is false. */
function outpost(args: string[], opts: { remote?: boolean } = { remote: true }): Promise<string> {
  return outpostCli(
    opts.remote ? { apiUrl: c.apiUrl, token: c.admin.token!, fingerprint: c.fingerprint } : undefined,
    args,
  );
}

const fakePackages = (version: string, platform = PLATFORM) => fakePackagesIn(dir.path, version, platform);

/** Signs a packages directory and publishes the repository, both through the CLI as an admin would. */
async function signAndPublish(packagesDir: string, version: string, extra: string[] = []): Promise<void> {
  await outpost(['release', 'sign', packagesDir, '--keys', keys, '--release', version, ...extra], { remote: false });
  await outpost(['releases', 'publish', keys]);
}

type Agent = InstalledAgent;

/** A fresh install of A in its own root, enrolled, trusting `rootFile`, running under a supervisor. */
async function installAgent(name: string, rootFile = join(releasePaths(keys).metadata, '1.root.json')): Promise<Agent> {
  const { token } = await c.enrollmentToken();
  const agent = await installPackagedAgent({
    home: join(dir.path, name),
    executable: join(builds.get(A)!, `outpost-agent-${PLATFORM}`),
    version: A,
    server: c.agentUrl,
    fingerprint: c.fingerprint,
    token,
    rootFile,
    healthDeadlineMs: DEADLINE_MS,
  });
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
  await stopAllSupervisors();
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
    // A figure for docs/0011-releases.md: assignment to B's hello (verify, 119 MB download, pre-flight, restart).
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
    await signAndPublish(brokenPackages(dir.path, broken), broken);
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
