/**
 * Rollouts with the real packaged executables (issue 15, docs/0011-releases.md "Rollouts"): a real `outpost serve`
 * process (so it can be SIGKILLed), releases signed offline and published through the CLI, and 20 packaged agents of
 * version A, each in its own install root under a supervisor loop standing in for systemd (test/support/
 * supervised-agent.ts). It checks, through `outpost rollouts …`:
 *   - a broken release (prints its version, exits at every start): the canaries roll back by themselves, the rollout
 *     halts, an incident of type update opens, and the other 18 agents never download it (nothing staged in their
 *     install roots, no update step reported);
 *   - B rolled out to the 20 in waves (canary, 25 %, 100 %), with the collector SIGKILLed once the last wave has
 *     started and restarted on the same data: the rollout resumes and every agent reports B.
 * Needs `pnpm build` first; skipped, saying why, when the host is not linux-x64 or the runtime cannot be obtained.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { releasePaths } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/collector.js';
import { BASE_VERSION, NEXT_VERSION, packageAgent } from '../support/package-build.js';
import { bootstrap, freePort, type ServeInfo, startCollectorProcess } from '../support/process-collector.js';
import {
  brokenPackages,
  type InstalledAgent,
  installPackagedAgent,
  outpostCli,
  PLATFORM,
  pointer,
  stopAllSupervisors,
  until,
} from '../support/supervised-agent.js';

const A = BASE_VERSION;
const B = NEXT_VERSION;
/** Newer than A and B: the broken release never completes a hello, so A stays the highest version run. */
const BROKEN = '0.9.0';
const AGENTS = 20;
const dir = tempDir('rollout');
const keys = join(dir.path, 'keys');
const dataDir = join(dir.path, 'collector');
let skipReason: string | undefined =
  process.platform === 'linux' && process.arch === 'x64' ? undefined : 'the packaged rollout test runs on linux-x64';
let serve: ServeInfo;
let port: number;
let admin: ApiTarget;
const builds = new Map<string, string>();
let agents: InstalledAgent[] = [];

const cli = (args: string[]) =>
  outpostCli({ apiUrl: serve.apiUrl, token: admin.token!, fingerprint: serve.fingerprint }, args);
const offline = (args: string[]) => outpostCli(undefined, args);

interface View {
  id: string;
  state: string;
  haltReason: string | null;
  wave: number;
  totals: Record<string, number>;
  waveList: { name: string; status: string; total: number; pending: number; healthy: number; rolledBack: number }[];
  agents: { agentId: string; wave: number; state: string; code: string | null; reason: string | null }[];
}
const rollout = (id: string) => apiCall<View>(admin, 'GET', `/api/v1/rollouts/${id}?agents=true`);
const agentInfo = (id: string) =>
  apiCall<{ status: string; agentVersion: string }>(admin, 'GET', `/api/v1/agents/${id}`);

async function allOnline(version: string): Promise<boolean> {
  const infos = await Promise.all(agents.map((a) => agentInfo(a.id)));
  return infos.every((i) => i.status === 'online' && i.agentVersion === version);
}

beforeAll(async () => {
  if (skipReason) return;
  for (const v of [A, B]) {
    const built = await packageAgent({ targets: [PLATFORM], version: v });
    if (built.skip !== undefined) {
      skipReason = `the Node runtime for ${PLATFORM} cannot be obtained: ${built.skip}`;
      return;
    }
    builds.set(v, built.dir);
  }
  port = await freePort();
  serve = await startCollectorProcess(dataDir, port);
  const boot = await bootstrap(serve, AGENTS + 5);
  admin = boot.admin;
  await offline(['release', 'keys', 'init', '--out', keys]);
  await offline(['release', 'sign', builds.get(B)!, '--keys', keys, '--release', B]);
  await offline(['release', 'sign', brokenPackages(dir.path, BROKEN), '--keys', keys, '--release', BROKEN]);
  await cli(['releases', 'publish', keys]);
  const t0 = Date.now();
  // Installed in parallel: enrollment and the first start are each a process start of the 120 MB executable.
  agents = await Promise.all(
    Array.from({ length: AGENTS }, (_, i) =>
      installPackagedAgent({
        home: join(dir.path, `agent-${i}`),
        executable: join(builds.get(A)!, `outpost-agent-${PLATFORM}`),
        version: A,
        server: serve.apiUrl,
        fingerprint: serve.fingerprint,
        token: boot.token,
        rootFile: join(releasePaths(keys).metadata, '1.root.json'),
        // Long enough to ride out the collector's own restart in the second scenario.
        healthDeadlineMs: 30_000,
        hardlink: true,
      }),
    ),
  );
  await until(() => allOnline(A), 90_000, `${AGENTS} agents online on ${A}`);
  console.log(`rollout: ${AGENTS} packaged agents installed and online in ${Date.now() - t0} ms`);
}, 400_000);

afterAll(async () => {
  await stopAllSupervisors();
  if (serve) {
    serve.proc.child.kill('SIGKILL');
    await serve.proc.exited;
  }
  dir[Symbol.dispose]();
});

describe('rollouts with packaged agents', () => {
  it('halts a broken release at the canaries: they roll back by themselves, an incident opens, nobody else downloads it', async (ctx) => {
    if (skipReason) ctx.skip();
    const t0 = Date.now();
    const started = JSON.parse(
      await cli([
        '--json',
        'rollouts',
        'start',
        BROKEN,
        '--canary',
        '2',
        '--waves',
        '50,100',
        '--bake',
        '0s',
        '--jitter',
        '0s',
        '--deadline',
        '60s',
        '--max-concurrent',
        '2',
        '--halt-after',
        '1',
      ]),
    ) as { id: string };
    await until(async () => (await rollout(started.id)).state === 'halted', 60_000, 'the rollout to halt');
    console.log(`rollout: broken release halted ${Date.now() - t0} ms after the start`);
    let view = await rollout(started.id);
    expect(view.haltReason).toMatch(/wave 1 \(canary\)/);
    const canaries = view.agents.filter((a) => a.wave === 1).map((a) => a.agentId);
    expect(canaries).toHaveLength(2);
    // Both canaries were assigned at once; each is rolled back by its own watcher and comes back on A.
    await until(
      async () => (await rollout(started.id)).agents.filter((a) => a.state === 'rolled_back').length === 2,
      60_000,
      'both canaries rolled back',
    );
    view = await rollout(started.id);
    for (const a of view.agents.filter((x) => x.wave === 1))
      expect(a).toMatchObject({ state: 'rolled_back', code: 'OUTPOST_E_UPDATE_ROLLED_BACK' });
    // Stop it for good now, so the next scenario may start its own (one rollout at a time).
    await cli(['rollouts', 'abort', started.id]);
    const byId = new Map(agents.map((a) => [a.id, a]));
    for (const id of canaries) {
      await until(async () => (await agentInfo(id)).status === 'online', 30_000, 'canary back online', byId.get(id));
      expect((await agentInfo(id)).agentVersion).toBe(A);
      expect(pointer(byId.get(id)!)).toBe(join('versions', A));
    }
    // Later waves: never assigned, never downloaded.
    expect(view.waveList.slice(1).every((w) => w.pending === w.total)).toBe(true);
    for (const a of agents.filter((x) => !canaries.includes(x.id))) {
      expect(readdirSync(join(a.root, 'versions'))).toEqual([A]);
      const { statuses } = await apiCall<{ statuses: unknown[] }>(admin, 'GET', `/api/v1/agents/${a.id}/updates`);
      expect(statuses).toEqual([]);
    }
    // An incident of type update names the canaries and their reasons.
    const { incidents } = await apiCall<{
      incidents: { type: string; status: string; agentIds: string[]; explanation: string }[];
    }>(admin, 'GET', '/api/v1/incidents?limit=50');
    const inc = incidents.find((i) => i.type === 'update');
    expect(inc).toBeDefined();
    expect(inc!.status).toBe('open');
    // The first failure halted the wave; the other canary, failing after, was added to the same incident.
    await until(
      async () =>
        (
          await apiCall<{ incidents: { type: string; agentIds: string[] }[] }>(
            admin,
            'GET',
            '/api/v1/incidents?limit=50',
          )
        ).incidents.find((i) => i.type === 'update')!.agentIds.length === 2,
      10_000,
      'both canaries on the incident',
    );
    expect(incidents.filter((i) => i.type === 'update')).toHaveLength(1);
    expect(inc!.agentIds.every((id) => canaries.includes(id))).toBe(true);
    expect(inc!.explanation).toMatch(/OUTPOST_E_UPDATE_ROLLED_BACK/);
    // The progress table as an admin reads it.
    const table = await cli(['rollouts', 'status', started.id]);
    expect(table).toMatch(/aborted\s+wave 1\/3/);
    expect(table).toMatch(/halted: wave 1 \(canary\)/);
    expect(table).toMatch(/WAVE\s+NAME\s+STATUS\s+AGENTS\s+PENDING\s+UPDATING\s+HEALTHY\s+FAILED\s+ROLLED BACK/);
    expect(table).toMatch(/1\s+canary\s+aborted\s+2\s+0\s+0\s+0\s+0\s+2/);
    expect(table).toMatch(/3\s+100%\s+never\s+10\s+10\s/);
  }, 180_000);

  it('rolls B out to all 20 in waves, through a collector SIGKILL and restart mid-rollout', async (ctx) => {
    if (skipReason) ctx.skip();
    const t0 = Date.now();
    const started = JSON.parse(
      await cli([
        '--json',
        'rollouts',
        'start',
        B,
        '--canary',
        '2',
        '--waves',
        '25,100',
        '--bake',
        '1s',
        '--jitter',
        '2s',
        '--deadline',
        '120s',
        '--max-concurrent',
        '4',
      ]),
    ) as { id: string };
    // Kill the collector once the last wave has begun (some agents updating, many still pending).
    await until(
      async () => {
        const v = await rollout(started.id);
        return v.wave === 3 && v.agents.some((a) => a.wave === 3 && a.state !== 'pending');
      },
      120_000,
      'the last wave to start',
    );
    const before = await rollout(started.id);
    serve.proc.child.kill('SIGKILL');
    await serve.proc.exited;
    const tKill = Date.now();
    serve = await startCollectorProcess(dataDir, port);
    console.log(
      `rollout: collector SIGKILLed in wave 3 (${JSON.stringify(before.totals)}), back after ${Date.now() - tKill} ms`,
    );
    let last: View | undefined;
    await until(
      async () => {
        last = await rollout(started.id);
        return last.state === 'completed';
      },
      240_000,
      'the rollout to complete',
    ).catch((e: Error) => {
      const stuck = last?.agents.filter((a) => a.state !== 'healthy');
      throw new Error(`${e.message}; last seen: ${JSON.stringify({ ...last, agents: stuck })}`);
    });
    console.log(`rollout: B on ${AGENTS} agents in ${Date.now() - t0} ms (start to completed)`);
    const view = await rollout(started.id);
    expect(view.totals).toMatchObject({ healthy: AGENTS, failed: 0, rolledBack: 0, pending: 0, updating: 0 });
    expect(view.waveList.map((w) => [w.name, w.total])).toEqual([
      ['canary', 2],
      ['25%', 3],
      ['100%', 15],
    ]);
    await until(() => allOnline(B), 60_000, `every agent online on ${B}`);
    for (const a of agents) {
      expect(pointer(a)).toBe(join('versions', B));
      expect(existsSync(join(a.root, 'versions', A, 'outpost-agent'))).toBe(true);
    }
    // --watch on a settled rollout draws it once and returns (not a terminal: a blank line instead of a clear).
    const watched = await cli(['rollouts', 'status', started.id, '--watch']);
    expect(watched).toMatch(/completed\s+wave 3\/3/);
    expect(watched).not.toMatch(/\x1b/);
    const list = await cli(['rollouts', 'list']);
    expect(list).toMatch(new RegExp(`${started.id}\\s+rollout\\s+${B.replaceAll('.', '\\.')}\\s+completed\\s+3/3`));
  }, 400_000);
});
