/**
 * Jobs end to end with real agent processes (docs/0010-jobs.md): a script job runs once across an agent restart
 * (SIGKILL right after "started" → interrupted, not rerun; a completed job is not rerun after a restart); a job for an
 * offline agent runs when it reconnects; an expired one never runs; an agent that requires signed scripts refuses an
 * unsigned one and the refusal is audited, while the same script signed offline runs; a tier-1 technician is refused.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall, inventory } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyOf, signScript } from '../../collector/src/cli/jobs.js';
import { type AgentInstall, agentInstall, enrollAgent, runAgent } from '../support/agent.js';
import {
  outpostBin,
  type Proc,
  ProcessCleanup,
  spawnNode,
  startTestCollector,
  type TestCollector,
  tempDir,
} from '../support/collector.js';
import { enrolledIdentity } from '../support/raw-agent.js';
import { auditEvents, technician } from '../support/shell.js';

type Target = { agentId: string; state: string; exitCode: number | null; reason: string; outputHead: string };
type Job = { id: string; status: string; counts: Record<string, number>; targets: Target[] };

const posix = process.platform !== 'win32';
let c: TestCollector;
const cleanup = new ProcessCleanup();
const dir = tempDir('jobs-e2e');

beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await cleanup[Symbol.asyncDispose]();
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

async function enrolled(
  name: string,
  config: Record<string, unknown> = {},
): Promise<{ install: AgentInstall; agentId: string }> {
  const install = agentInstall(join(dir.path, name));
  const e = await enrollAgent(install, c.apiUrl, (await c.enrollmentToken()).token, c.fingerprint);
  expect(e.code).toBe(0);
  const agentId = /enrolled as (ag_[0-9a-f]{24})/.exec(e.out)![1]!;
  const file = JSON.parse(readFileSync(install.configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(install.configFile, JSON.stringify({ ...file, ...config }));
  return { install, agentId };
}

async function online(agentId: string): Promise<void> {
  await expect
    .poll(async () => (await apiCall<{ status: string }>(c.admin, 'GET', `/api/v1/agents/${agentId}`)).status, {
      timeout: 15_000,
    })
    .toBe('online');
}

const start = async (install: AgentInstall, agentId: string): Promise<Proc> => {
  const p = cleanup.use(runAgent(install));
  await online(agentId);
  return p;
};

let scriptN = 0;
/** Adds a script (or its next version, for a name already in the shared library); returns its id. */
async function addScript(body: string, signature?: string, name = `s${++scriptN}-${Date.now()}`): Promise<string> {
  return (
    await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/scripts', {
      name,
      body,
      ...(signature ? { signature } : {}),
    })
  ).id;
}

const runJob = (who: ApiTarget, body: Record<string, unknown>) => apiCall<Job>(who, 'POST', '/api/v1/jobs', body);
const job = (id: string) => apiCall<Job>(c.admin, 'GET', `/api/v1/jobs/${id}`);
const stateOf = async (id: string, agentId: string) =>
  (await job(id)).targets.find((t) => t.agentId === agentId)?.state;

describe.runIf(posix)('jobs with real agents', () => {
  it('SIGKILL right after "started": reported interrupted once the agent is back, never run again', async () => {
    const { install, agentId } = await enrolled('crash');
    let agent = await start(install, agentId);
    const marker = join(dir.path, 'crash.runs');
    const pidFile = join(dir.path, 'crash.pid');
    const name = await addScript(`echo run >> ${marker}\necho $$ > ${pidFile}\nsleep 30\n`);
    const j = await runJob(c.admin, { spec: { kind: 'script', script: name }, target: { agentIds: [agentId] } });
    // The script's first line ran: the agent journalled "started" before spawning it. Kill the agent now.
    await expect.poll(() => existsSync(pidFile), { timeout: 10_000 }).toBe(true);
    await agent.kill('SIGKILL');
    await agent.exited;
    try {
      process.kill(-Number(readFileSync(pidFile, 'utf8')), 'SIGKILL'); // the orphaned group the dead agent left
    } catch {
      // already gone
    }
    agent = await start(install, agentId);
    await expect.poll(() => stateOf(j.id, agentId), { timeout: 15_000 }).toBe('interrupted');
    const t = (await job(j.id)).targets[0]!;
    expect(t.reason).toMatch(/not run again/);
    await new Promise((r) => setTimeout(r, 800)); // a resend would have run by now
    expect(readFileSync(marker, 'utf8')).toBe('run\n');
    const audit = await auditEvents(c.admin);
    expect(audit.some((e) => e.type === 'job.interrupted')).toBe(true);

    // A job that completed before a restart is not rerun after it.
    const marker2 = join(dir.path, 'done.runs');
    const name2 = await addScript(`echo run >> ${marker2}\necho done-output\nexit 7\n`);
    const j2 = await runJob(c.admin, { spec: { kind: 'script', script: name2 }, target: { agentIds: [agentId] } });
    await expect.poll(() => stateOf(j2.id, agentId), { timeout: 15_000 }).toBe('failed');
    const t2 = (await job(j2.id)).targets[0]!;
    expect(t2.exitCode).toBe(7);
    expect(t2.outputHead).toContain('done-output');
    // Incidents' "what changed" on this machine names the job.
    const changes = await c.collector.jobs.recentChanges(agentId, Date.now() - 60_000, Date.now());
    expect(changes.map((x) => x.summary)).toContainEqual(
      expect.stringMatching(new RegExp(`^job ${j2.id} .* failed \\(exit 7\\)$`)),
    );
    await agent.kill('SIGTERM');
    await agent.exited;
    agent = await start(install, agentId);
    // An absence: a second run after the restart would have rewritten the marker by now.
    await new Promise((r) => setTimeout(r, 800));
    expect(readFileSync(marker2, 'utf8')).toBe('run\n');
    expect(await stateOf(j2.id, agentId)).toBe('failed');

    // Retry runs the failed machine again, as a new job.
    const again = await apiCall<Job>(c.admin, 'POST', `/api/v1/jobs/${j2.id}/retry`);
    expect(again.id).not.toBe(j2.id);
    await expect.poll(() => stateOf(again.id, agentId), { timeout: 15_000 }).toBe('failed');
    expect(readFileSync(marker2, 'utf8')).toBe('run\nrun\n');
    await agent.kill('SIGTERM');
  }, 60_000);

  it('cancel stops a job running on the agent: its process group killed, reported cancelled, audited', async () => {
    const { install, agentId } = await enrolled('cancel');
    const agent = await start(install, agentId);
    const pidFile = join(dir.path, 'cancel.pid');
    const marker = join(dir.path, 'cancel.after');
    const name = await addScript(`sleep 60 & echo $! > ${pidFile}\nsleep 60\necho finished > ${marker}\n`);
    const j = await runJob(c.admin, { spec: { kind: 'script', script: name }, target: { agentIds: [agentId] } });
    await expect.poll(() => existsSync(pidFile), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => stateOf(j.id, agentId), { timeout: 10_000 }).toBe('started');
    const cancelled = await apiCall<Job>(c.admin, 'POST', `/api/v1/jobs/${j.id}/cancel`);
    expect(cancelled.status).toBe('cancelled');
    await expect.poll(() => stateOf(j.id, agentId), { timeout: 10_000 }).toBe('cancelled');
    const t = (await job(j.id)).targets[0]!;
    expect(t.reason).toMatch(/its process group was killed/);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await expect
      .poll(
        () => {
          try {
            process.kill(grandchild, 0);
            return true;
          } catch {
            return false;
          }
        },
        { timeout: 5000 },
      )
      .toBe(false);
    expect(existsSync(marker)).toBe(false);
    const audit = await auditEvents(c.admin);
    expect(audit.filter((e) => e.type === 'job.cancel').at(-1)).toMatchObject({
      result: 'success',
      details: { cancelledTargets: 0, agentsToldToStop: 1 },
    });
    await agent.kill('SIGTERM');
  }, 60_000);

  it('an offline agent runs its job when it comes back; an expired job never runs', async () => {
    const { install, agentId } = await enrolled('offline');
    const marker = join(dir.path, 'offline.runs');
    const name = await addScript(`echo "$1" >> ${marker}\n`);
    const waiting = await runJob(c.admin, {
      spec: { kind: 'script', script: name, args: ['waited'] },
      target: { agentIds: [agentId] },
    });
    const expiring = await runJob(c.admin, {
      spec: { kind: 'script', script: name, args: ['expired'] },
      target: { agentIds: [agentId] },
      expiresInSec: 1,
    });
    expect((await job(waiting.id)).targets[0]!.state).toBe('queued');
    await expect.poll(() => stateOf(expiring.id, agentId), { timeout: 12_000, interval: 500 }).toBe('expired');
    const agent = await start(install, agentId);
    await expect.poll(() => stateOf(waiting.id, agentId), { timeout: 15_000 }).toBe('succeeded');
    // An absence: the expired job must not run once the agent is back (it would append to the marker).
    await new Promise((r) => setTimeout(r, 1000));
    expect(readFileSync(marker, 'utf8')).toBe('waited\n');
    expect(await stateOf(expiring.id, agentId)).toBe('expired');
    await agent.kill('SIGTERM');
  }, 60_000);

  it('an agent that requires signed scripts refuses an unsigned one (reason, audit) and runs the signed one', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const { install, agentId } = await enrolled('signed', {
      jobs: { requireSignedScripts: true, scriptPublicKey: publicKeyOf(privateKey) },
    });
    const agent = await start(install, agentId);
    const marker = join(dir.path, 'signed.runs');
    const body = `echo ran >> ${marker}\n`;
    const unsigned = await addScript(body);
    const j = await runJob(c.admin, { spec: { kind: 'script', script: unsigned }, target: { agentIds: [agentId] } });
    await expect.poll(() => stateOf(j.id, agentId), { timeout: 15_000 }).toBe('refused');
    expect((await job(j.id)).targets[0]!.reason).toMatch(/^OUTPOST_E_JOB_UNSIGNED_SCRIPT/);
    const refusal = (await auditEvents(c.admin)).find((e) => e.type === 'job.refused');
    expect(refusal).toMatchObject({ code: 'OUTPOST_E_JOB_UNSIGNED_SCRIPT', result: 'denied' });

    // A signature the collector made up (it holds no key) is refused too; the organisation's signature runs.
    const name = `signed-${Date.now()}`;
    const forged = signScript(generateKeyPairSync('ed25519').privateKey, name, body).signature;
    const id = await addScript(body, forged, name);
    const f = await runJob(c.admin, { spec: { kind: 'script', script: id }, target: { agentIds: [agentId] } });
    await expect.poll(() => stateOf(f.id, agentId), { timeout: 15_000 }).toBe('refused');
    expect((await job(f.id)).targets[0]!.reason).toMatch(/^OUTPOST_E_JOB_BAD_SIGNATURE/);
    expect(await addScript(body, signScript(privateKey, name, body).signature, name)).toBe(id); // version 2
    const ok = await runJob(c.admin, { spec: { kind: 'script', script: id }, target: { agentIds: [agentId] } });
    await expect.poll(() => stateOf(ok.id, agentId), { timeout: 15_000 }).toBe('succeeded');
    expect(readFileSync(marker, 'utf8')).toBe('ran\n');
    await agent.kill('SIGTERM');
  }, 60_000);

  it('a tier-1 technician may not run a job (403, audited); a tier-2 may; the security-pending fleet query; coded bad input', async () => {
    const { agentId } = await enrolled('perm');
    const name = await addScript('true\n');
    const tier1 = await technician(c, 'tier1');
    const body = { spec: { kind: 'script', script: name }, target: { agentIds: [agentId] } };
    await expect(runJob(tier1, body)).rejects.toMatchObject({ code: 'OUTPOST_E_FORBIDDEN' });
    expect((await auditEvents(c.admin)).find((e) => e.type === 'jobs.run')).toMatchObject({ result: 'denied' });
    const tier2 = await technician(c, 'tier2');
    const j = await runJob(tier2, body);
    expect(j.targets.map((t) => t.state)).toEqual(['queued']);
    // tier 1 still sees jobs, but cannot cancel them.
    expect((await apiCall<Job>(tier1, 'GET', `/api/v1/jobs/${j.id}`)).id).toBe(j.id);
    await expect(apiCall(tier1, 'POST', `/api/v1/jobs/${j.id}/cancel`)).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    const cancelled = await apiCall<Job>(tier2, 'POST', `/api/v1/jobs/${j.id}/cancel`);
    expect(cancelled.targets[0]!.state).toBe('cancelled');
    await expect(
      runJob(c.admin, {
        spec: { kind: 'software', action: 'install', packages: ['-oops'] },
        target: { agentIds: [agentId] },
      }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_BAD_REQUEST' });
    await expect(runJob(c.admin, { spec: { kind: 'patch' }, target: {} })).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_REQUEST',
    });
    await expect(
      runJob(c.admin, { spec: { kind: 'patch' }, target: { clientId: c.clientId, securityPatchesOlderThanDays: 14 } }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_JOB_NO_TARGETS' });
    // The fleet query: only the machine whose stored inventory has a security update pending is targeted.
    const [patched, unpatched] = [
      (await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token)).agentId,
      (await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token)).agentId,
    ];
    const machine = (hostname: string, security: boolean) =>
      inventory.demoRows({
        hostname,
        serial: `SN-${hostname}`,
        uuid: `4c4c4544-0000-1000-8000-00000000000${security ? 1 : 2}`,
        mac: `00:1a:2b:3c:4d:0${security ? 1 : 2}`,
        packages: 1,
        patches: [{ name: 'openssl', security, severity: security ? 'critical' : '' }],
      });
    await c.collector.inventory.ingest(
      [
        { agentId: patched, msg: inventory.fullReport(1, machine('needs-patch', true), Date.now()) },
        { agentId: unpatched, msg: inventory.fullReport(1, machine('up-to-date', false), Date.now()) },
      ],
      Date.now(),
    );
    const byQuery = await runJob(c.admin, {
      spec: { kind: 'patch', scope: 'security' },
      target: { clientId: c.clientId, securityPatchesOlderThanDays: 0 },
    });
    expect(byQuery.targets.map((t) => t.agentId)).toEqual([patched]);
    await expect(
      runJob(c.admin, { spec: { kind: 'patch' }, target: { agentIds: ['ag_000000000000000000000000'] } }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_NOT_FOUND' });
  }, 60_000);

  it('the CLI: keygen and sign offline, add, run --wait, show --output (agent text escaped), list, errors coded', async () => {
    const cli = async (...args: string[]) => {
      const global = ['--server', c.apiUrl, '--token', c.admin.token!];
      if (c.fingerprint) global.push('--ca-fingerprint', c.fingerprint);
      await using p = spawnNode(outpostBin, [...global, ...args], {
        TZ: 'UTC',
        OUTPOST_CLI_CONFIG: join(dir.path, 'cli-config.json'),
      });
      const code = await p.exited;
      return { code, out: p.stdout(), err: p.stderr() };
    };
    const key = join(dir.path, 'org-scripts.pem');
    const gen = await cli('scripts', 'keygen', '--out', key);
    expect(gen.code).toBe(0);
    const publicKey = /scriptPublicKey: ([A-Za-z0-9_-]{43})/.exec(gen.out)![1]!;
    const file = join(dir.path, 'hello.sh');
    writeFileSync(file, 'echo "hello from $(hostname)"\nprintf "\\033[31mred\\033[0m\\n"\n');
    const name = `hello-${Date.now()}`;
    const signed = await cli('scripts', 'sign', '--key', key, '--name', name, file);
    expect(signed.code).toBe(0);
    const added = await cli('scripts', 'add', name, file, '--signature', signed.out.trim());
    expect(added.out).toMatch(/version 1 added .*signed/);

    const { install, agentId } = await enrolled('cli', {
      jobs: { requireSignedScripts: true, scriptPublicKey: publicKey },
    });
    const agent = await start(install, agentId);
    const run = await cli('jobs', 'run', '--script', name, '--agent', agentId, '--wait', '--timeout', '30s');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/machines: succeeded 1/);
    const jobId = /job (jb_[0-9a-f]{24}) created/.exec(run.out)![1]!;
    const [show, list] = await Promise.all([cli('jobs', 'show', jobId, '--output'), cli('jobs', 'list')]);
    expect(show.out).toMatch(/hello from /);
    expect(show.out).not.toContain('\u001b'); // the agent's escape sequence is shown, not obeyed
    expect(show.out).toMatch(/\\(x1b|u001b|e)\[31mred/);
    expect(list.out).toContain(jobId);

    const [bad, twoKinds] = await Promise.all([
      cli('scripts', 'sign', '--key', file, '--name', name, file),
      cli('jobs', 'run', '--patch', '--install', 'htop', '--agent', agentId),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error OUTPOST_E_SIGNING_KEY_INVALID/);
    expect(twoKinds.code).toBe(1);
    expect(twoKinds.err).toMatch(/exactly one of --script, --patch/);
    await agent.kill('SIGTERM');
  }, 60_000);
});
