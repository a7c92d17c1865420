/**
 * The jobs component with real processes, a real journal on disk and its reports collected as the outbox would get
 * them: at most once across restarts, interrupted after a crash, timeout kills the process group, bounded output,
 * expiry and signature refusals. (The same through a real agent process and collector: test/e2e/jobs.test.ts.)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobRun, JobStatus, SequencedBody } from '@outpost/shared';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../config/index.js';
import type { AgentContext, CommandContext } from '../runtime/commands.js';
import { systemClock } from '../time.js';
import { JobsComponent } from './component.js';
import { JobJournal } from './journal.js';

const posix = process.platform !== 'win32';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let n = 0;
const jobId = () => `jb_${(Date.now() * 1000 + n++).toString(16).padStart(24, '0')}`;

function agentAt(stateDir: string, jobs: AgentConfig['jobs'] = {}) {
  const reports: JobStatus[] = [];
  const reboots: string[][] = [];
  let refreshed = 0;
  const config = { stateDir, jobs } as AgentConfig;
  const ctx: AgentContext = {
    config,
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    report: async (body: SequencedBody) => {
      if (body.type === 'job.status') reports.push({ ...body, seq: reports.length + 1 });
      return reports.length;
    },
  };
  const component = new JobsComponent({
    refreshInventory: () => {
      refreshed++;
    },
    // The reboot command is recorded, never run: no test reboots this machine.
    reboot: async (argv) => {
      reboots.push(argv);
    },
  });
  return { component, ctx, reports, reboots, refreshed: () => refreshed, cmd: ctx as CommandContext };
}

function script(body: string, over: Partial<JobRun> = {}): JobRun {
  return {
    type: 'job.run',
    id: jobId(),
    expiresAt: Date.now() + 60_000,
    timeoutSec: 20,
    spec: {
      kind: 'script',
      shell: 'shell',
      name: 'test',
      version: 1,
      body,
      sha256: createHash('sha256').update(body).digest('hex'),
      args: [],
    },
    reboot: { policy: 'never', delayMin: 0, message: '' },
    ...over,
  };
}

const final = (reports: JobStatus[], id: string) => reports.find((r) => r.jobId === id && r.state !== 'started');

describe.runIf(posix)('jobs component (real processes, real journal)', () => {
  const state = mkdtempSync(join(tmpdir(), 'outpost-jobs-comp-'));
  dirs.push(state);
  const marker = join(state, 'runs.txt');

  it('runs a script once: started then succeeded with output and exit code; a resend, even after a restart, does not run it again', async () => {
    const a = agentAt(state);
    await a.component.start(a.ctx);
    const job = script(`echo run >> ${marker}; echo hello; echo oops >&2; exit 0`);
    await a.component.run(job, a.cmd);
    await a.component.run(job, a.cmd); // the collector resends (reconnect): the journal says it ran
    expect(a.reports.map((r) => r.state)).toEqual(['started', 'succeeded']);
    const done = final(a.reports, job.id)!;
    expect(done.exitCode).toBe(0);
    expect(done.outputHead).toContain('hello');
    expect(done.outputHead).toContain('oops');
    expect(a.refreshed()).toBe(0); // a script does not refresh the inventory

    const b = agentAt(state); // a restart: a new component over the same state directory
    await b.component.start(b.ctx);
    await b.component.run(job, b.cmd);
    expect(b.reports).toEqual([]);
    expect(readFileSync(marker, 'utf8')).toBe('run\n');
  });

  it('a job found "started" at start-up is reported interrupted and never run, even when resent', async () => {
    const job = script(`echo run2 >> ${marker}`);
    new JobJournal(state).write({ jobId: job.id, state: 'started', startedAt: Date.now() - 1000, finishedAt: null });
    const a = agentAt(state);
    await a.component.start(a.ctx);
    expect(a.reports.map((r) => [r.jobId, r.state])).toEqual([[job.id, 'interrupted']]);
    await a.component.run(job, a.cmd);
    expect(a.reports).toHaveLength(1);
    expect(readFileSync(marker, 'utf8')).not.toContain('run2');
  });

  it('a non-zero exit is a failure with its code', async () => {
    const a = agentAt(state);
    await a.component.start(a.ctx);
    const job = script('echo bad; exit 3');
    await a.component.run(job, a.cmd);
    expect(final(a.reports, job.id)).toMatchObject({ state: 'failed', exitCode: 3, reason: '/bin/sh exited with 3' });
  });

  it('the timeout kills the whole process group (a background grandchild too)', async () => {
    const a = agentAt(state);
    await a.component.start(a.ctx);
    const pidFile = join(state, 'grandchild.pid');
    const job = script(`sleep 30 & echo $! > ${pidFile}; sleep 30`, { timeoutSec: 1 });
    const t0 = Date.now();
    await a.component.run(job, a.cmd);
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(final(a.reports, job.id)).toMatchObject({ state: 'timed_out', signal: 'SIGTERM' });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await expect.poll(() => alive(pid), { timeout: 4000 }).toBe(false);
  });

  it('cancel kills a running job with its process group, and a job queued behind it never starts; both reported cancelled, neither rerun', async () => {
    const a = agentAt(state);
    await a.component.start(a.ctx);
    const pidFile = join(state, 'cancel-grandchild.pid');
    const never = join(state, 'cancel-never.txt');
    const running = script(`sleep 30 & echo $! > ${pidFile}; sleep 30; echo done >> ${never}`);
    const queued = script(`echo ran >> ${never}`);
    const first = a.component.run(running, a.cmd);
    const second = a.component.run(queued, a.cmd);
    await expect.poll(() => existsSync(pidFile), { timeout: 5000 }).toBe(true);
    const t0 = Date.now();
    a.component.cancel({ type: 'job.cancel', id: queued.id }, a.cmd);
    a.component.cancel({ type: 'job.cancel', id: running.id }, a.cmd);
    await Promise.all([first, second]);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(final(a.reports, running.id)).toMatchObject({ state: 'cancelled', signal: 'SIGTERM' });
    expect(final(a.reports, running.id)?.reason).toMatch(/cancelled while .* ran; its process group was killed/);
    expect(final(a.reports, queued.id)).toMatchObject({ state: 'cancelled', reason: 'cancelled before it started' });
    expect(a.reports.filter((r) => r.jobId === queued.id && r.state === 'started')).toEqual([]);
    await expect.poll(() => alive(Number(readFileSync(pidFile, 'utf8'))), { timeout: 4000 }).toBe(false);
    expect(existsSync(never)).toBe(false);
    // The journal holds both: a resend runs neither.
    const before = a.reports.length;
    await a.component.run(running, a.cmd);
    await a.component.run(queued, a.cmd);
    expect(a.reports.length).toBe(before);
    expect(existsSync(never)).toBe(false);
  });

  it('output is bounded: head and tail kept, the middle counted', async () => {
    const a = agentAt(state);
    await a.component.start(a.ctx);
    const job = script('echo FIRST; head -c 300000 /dev/zero | tr "\\0" x; echo; echo LAST');
    await a.component.run(job, a.cmd);
    const r = final(a.reports, job.id)!;
    expect(r.state).toBe('succeeded');
    expect(r.outputHead.startsWith('FIRST\n')).toBe(true);
    expect(r.outputTail.endsWith('LAST\n')).toBe(true);
    expect(r.outputHead.length).toBe(32 * 1024);
    expect(r.outputTail.length).toBe(32 * 1024);
    expect(r.truncatedBytes).toBe(6 + 300_000 + 1 + 5 - 64 * 1024);
  });

  it('an expired job is not run; an unsigned script is refused by an agent that requires signatures', async () => {
    const a = agentAt(state, { requireSignedScripts: true, scriptPublicKey: 'A'.repeat(43) });
    await a.component.start(a.ctx);
    const late = script(`echo late >> ${marker}`, { expiresAt: Date.now() - 1 });
    await a.component.run(late, a.cmd);
    expect(final(a.reports, late.id)).toMatchObject({ state: 'expired' });
    const unsigned = script(`echo unsigned >> ${marker}`);
    await a.component.run(unsigned, a.cmd);
    expect(final(a.reports, unsigned.id)?.state).toBe('refused');
    expect(final(a.reports, unsigned.id)?.reason).toMatch(/^OUTPOST_E_JOB_UNSIGNED_SCRIPT: /);
    expect(readFileSync(marker, 'utf8')).not.toMatch(/late|unsigned/);
    // Both are journalled: a resend is not even reconsidered.
    await a.component.run(unsigned, a.cmd);
    expect(a.reports.filter((r) => r.jobId === unsigned.id)).toHaveLength(1);
    expect(existsSync(join(state, 'jobs', `${unsigned.id}.json`))).toBe(true);
  });
  it('reboot policy: forced runs `shutdown -r +N "msg"` after success only; never does nothing', async () => {
    const a = agentAt(state);
    await a.component.start(a.ctx);
    const forced = script('true', { reboot: { policy: 'forced', delayMin: 7, message: 'Patching: restart in 7 min' } });
    await a.component.run(forced, a.cmd);
    expect(a.reboots).toEqual([['shutdown', '-r', '+7', 'Patching: restart in 7 min']]);
    expect(final(a.reports, forced.id)).toMatchObject({
      state: 'succeeded',
      rebootScheduled: 'shutdown -r +7 Patching: restart in 7 min',
    });
    const failed = script('exit 1', { reboot: { policy: 'forced', delayMin: 7, message: '' } });
    await a.component.run(failed, a.cmd);
    const never = script('true');
    await a.component.run(never, a.cmd);
    expect(a.reboots).toHaveLength(1);
    expect(final(a.reports, failed.id)?.rebootScheduled).toBe('');
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
