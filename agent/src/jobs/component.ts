/**
 * The jobs component (docs/0010-jobs.md). `job.run` is handled at most once per job id: the journal is checked,
 * "started" is written and fsynced before any process exists, the plan's commands run one after another in their own
 * process group under the job's deadline, and the outcome goes through the outbox (so it survives restarts) before
 * the journal closes the entry. At start, entries still "started" are reported `interrupted`. Jobs run one at a time:
 * two package managers at once would only wait on each other's lock.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import {
  JOB_OUTPUT_HEAD_BYTES,
  JOB_OUTPUT_TAIL_BYTES,
  type JobCancel,
  type JobRun,
  type JobState,
  type JobStatus,
  OutpostError,
} from '@outpost/shared';
import type { AgentComponent, AgentContext, CommandContext } from '../runtime/commands.js';
import { detectHost } from './host.js';
import { JobJournal } from './journal.js';
import { BoundedOutput } from './output.js';
import {
  type Host,
  type Plan,
  patchPlan,
  rebootCommand,
  scriptPlan,
  shouldReboot,
  softwarePlan,
  Unsupported,
} from './plans.js';
import { checkScript } from './signature.js';
import { runStep } from './spawn.js';

/** Finished journal entries are forgotten after this long: longer than any job may live (90 days), so none is rerun. */
const JOURNAL_KEEP_MS = 100 * 86_400_000;

/** Options a test may change. */
export interface JobsOptions {
  /** Asks the inventory for fresh package data after a patch or software job (`now`: the agent clock's time). */
  refreshInventory: (now: number) => void;
  /** The host; default: detected from the platform and the configuration. */
  host?: Host;
  /** Runs the reboot command; default: really runs it (Linux: `shutdown -r +N msg`). */
  reboot?: (argv: string[]) => Promise<void>;
}

type Outcome = Omit<JobStatus, 'type' | 'seq' | 'time' | 'jobId'>;

const empty: Outcome = {
  state: 'failed',
  exitCode: null,
  signal: null,
  durationMs: 0,
  outputHead: '',
  outputTail: '',
  truncatedBytes: 0,
  rebootRequired: false,
  rebootScheduled: '',
  reason: '',
};

/** How a job's steps ended (before any reboot). */
interface StepsOutcome {
  state: JobState;
  exitCode: number | null;
  signal: string | null;
  reason: string;
  rebootRequired: boolean;
}

/** The jobs AgentComponent and its `job.run` handler. */
export class JobsComponent implements AgentComponent {
  readonly name = 'jobs';
  #ctx: AgentContext | undefined;
  #journal: JobJournal | undefined;
  #host: Host | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  readonly #queued = new Set<string>();
  /** Cancel requests for jobs still queued here, and the one for the job running now. */
  readonly #cancelled = new Set<string>();
  #running: { id: string; abort: AbortController } | undefined;
  #stopped = false;

  constructor(private readonly options: JobsOptions) {}

  async start(ctx: AgentContext): Promise<void> {
    this.#ctx = ctx;
    this.#journal = new JobJournal(ctx.config.stateDir);
    this.#host = this.options.host ?? detectHost(ctx.config);
    this.#journal.prune(ctx.clock.now() - JOURNAL_KEEP_MS);
    for (const e of this.#journal.unfinished()) {
      ctx.logger.warn({ jobId: e.jobId }, 'job was running when the agent stopped: reported interrupted, not rerun');
      await this.#record(e.jobId, e.startedAt, {
        ...empty,
        state: 'interrupted',
        durationMs: Math.max(0, ctx.clock.now() - e.startedAt),
        reason: 'the agent stopped while the job ran; it is not run again',
      });
    }
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Handles `job.run`: queued behind the running job; a job already known is ignored. */
  readonly run = (msg: JobRun, _ctx: CommandContext): Promise<void> => {
    if (this.#queued.has(msg.id)) return Promise.resolve();
    this.#queued.add(msg.id);
    const p = this.#chain.then(() => this.#run(msg)).finally(() => this.#queued.delete(msg.id));
    this.#chain = p.catch(() => undefined);
    return p;
  };

  /**
   * Handles `job.cancel`: the running job's process group is killed (SIGTERM, then SIGKILL after a grace); a job
   * queued here never starts. Both are reported `cancelled`. A job this agent does not hold is left alone: one that
   * finished keeps its outcome, one never received never runs (the collector no longer sends it).
   */
  readonly cancel = (msg: JobCancel, _ctx: CommandContext): void => {
    const log = this.#ctx?.logger.child({ jobId: msg.id });
    const running = this.#running;
    if (running?.id === msg.id) {
      log?.warn('job cancelled while running: killing its process group');
      running.abort.abort();
    } else if (this.#queued.has(msg.id)) {
      log?.info('job cancelled before it started');
      this.#cancelled.add(msg.id);
    } else log?.info('cancel for a job not queued or running here: nothing to do');
  };

  async #run(msg: JobRun): Promise<void> {
    const ctx = this.#ctx;
    const journal = this.#journal;
    const host = this.#host;
    if (!ctx || !journal || !host || this.#stopped) return;
    const log = ctx.logger.child({ jobId: msg.id, kind: msg.spec.kind });
    const known = journal.get(msg.id);
    if (known) {
      log.info({ state: known.state }, 'job already in the journal: not run again');
      return;
    }
    const t0 = ctx.clock.now();
    // The process's own timeout runs on real time (a timer in spawn.ts), whatever clock decides expiry.
    const realStart = Date.now();
    if (this.#cancelled.delete(msg.id))
      return this.#record(msg.id, t0, { ...empty, state: 'cancelled', reason: 'cancelled before it started' });
    if (msg.expiresAt <= t0) {
      log.warn('job arrived expired: not run');
      return this.#record(msg.id, t0, { ...empty, state: 'expired', reason: 'the job expired before it could start' });
    }
    const plan = this.#plan(msg, ctx, host, journal.dir);
    if ('refused' in plan) {
      log.warn({ code: plan.code, reason: plan.refused }, 'job refused');
      return this.#record(msg.id, t0, { ...empty, state: 'refused', reason: plan.refused.slice(0, 1024) });
    }

    // The promise of at most once: on disk before anything runs.
    journal.write({ jobId: msg.id, state: 'started', startedAt: t0, finishedAt: null });
    await ctx.report({ type: 'job.status', time: t0, jobId: msg.id, ...empty, state: 'started' });
    log.info('job started');

    const output = new BoundedOutput(JOB_OUTPUT_HEAD_BYTES, JOB_OUTPUT_TAIL_BYTES);
    const ran = await this.#runSteps(msg, plan, output, realStart + msg.timeoutSec * 1000, journal.dir);
    const text = output.result();
    ran.rebootRequired ||= await this.#rebootPending(plan, `${text.head}${text.tail}`);
    const rebootScheduled = await this.#scheduleReboot(msg, host, ran, log);
    await this.#record(msg.id, t0, {
      state: ran.state,
      exitCode: ran.exitCode,
      signal: ran.signal,
      durationMs: ctx.clock.now() - t0,
      outputHead: text.head,
      outputTail: text.tail,
      truncatedBytes: text.truncatedBytes,
      rebootRequired: ran.rebootRequired,
      rebootScheduled,
      reason: ran.reason.slice(0, 1024),
    });
    log.info({ state: ran.state, exitCode: ran.exitCode, rebootRequired: ran.rebootRequired }, 'job finished');
    // Pending patches and installed software changed: the collector sees it now, not at the next scheduled run.
    if (msg.spec.kind !== 'script') this.options.refreshInventory(ctx.clock.now());
  }

  /** The job's plan for this host, or the coded reason it is refused (unsigned script, unsupported platform…). */
  #plan(msg: JobRun, ctx: AgentContext, host: Host, jobDir: string): Plan | { refused: string; code: string } {
    try {
      if (msg.spec.kind === 'script') {
        checkScript(msg.spec, {
          requireSigned: ctx.config.jobs?.requireSignedScripts === true,
          publicKey: ctx.config.jobs?.scriptPublicKey,
        });
        return scriptPlan(host, msg.spec, jobDir, msg.id);
      }
      if (msg.spec.kind === 'patch') return patchPlan(host, msg.spec.scope, jobDir);
      return softwarePlan(host, msg.spec.action, msg.spec.packages);
    } catch (err) {
      const code =
        err instanceof OutpostError
          ? err.code
          : err instanceof Unsupported
            ? 'OUTPOST_E_JOB_UNSUPPORTED'
            : 'OUTPOST_E_INTERNAL';
      return { refused: `${code}: ${(err as Error).message}`, code };
    }
  }

  /** Runs the plan's steps one after another (cancellable, under the deadline); the first that fails ends the job. */
  async #runSteps(
    msg: JobRun,
    plan: Plan,
    output: BoundedOutput,
    deadline: number,
    jobDir: string,
  ): Promise<StepsOutcome> {
    const abort = new AbortController();
    this.#running = { id: msg.id, abort };
    const out: StepsOutcome = { state: 'succeeded', exitCode: null, signal: null, reason: '', rebootRequired: false };
    const end = (state: JobState, reason: string) => Object.assign(out, { state, reason });
    try {
      if (plan.file) {
        mkdirSync(jobDir, { recursive: true, mode: 0o700 });
        writeFileSync(plan.file.path, plan.file.content, { mode: plan.file.mode });
      }
      for (const step of plan.steps) {
        let r = await runStep(step, output, deadline, jobDir, abort.signal);
        if (r.exitCode !== null && step.againCodes.includes(r.exitCode) && !r.timedOut && !r.cancelled)
          r = await runStep(step, output, deadline, jobDir, abort.signal);
        out.exitCode = r.exitCode;
        out.signal = r.signal;
        if (r.exitCode !== null && step.rebootCodes.includes(r.exitCode)) out.rebootRequired = true;
        if (r.spawnError) return end('failed', `${step.cmd} could not start: ${r.spawnError}`);
        if (r.cancelled) return end('cancelled', `cancelled while ${step.cmd} ran; its process group was killed`);
        if (r.timedOut) return end('timed_out', `timed out after ${msg.timeoutSec} s; its process group was killed`);
        const ok =
          r.exitCode === 0 || (r.exitCode !== null && [...step.okCodes, ...step.rebootCodes].includes(r.exitCode));
        if (!ok)
          return end('failed', `${step.cmd} ${r.signal ? `was killed by ${r.signal}` : `exited with ${r.exitCode}`}`);
      }
      return out;
    } catch (err) {
      return end('failed', `the job could not run: ${(err as Error).message}`);
    } finally {
      this.#running = undefined;
      if (plan.file) rmSync(plan.file.path, { force: true });
    }
  }

  /** Schedules the reboot the policy asks for; returns the command run ('' for none; a failure joins the reason). */
  async #scheduleReboot(msg: JobRun, host: Host, ran: StepsOutcome, log: AgentContext['logger']): Promise<string> {
    if (!shouldReboot(msg.reboot.policy, ran.rebootRequired, ran.state === 'succeeded')) return '';
    const cmd = rebootCommand(host.platform, msg.reboot);
    const scheduled = [cmd.cmd, ...cmd.args].join(' ').slice(0, 512);
    try {
      await (this.options.reboot ?? ((argv) => runArgv(argv)))([cmd.cmd, ...cmd.args]);
      log.warn({ command: scheduled }, 'reboot scheduled');
      return scheduled;
    } catch (err) {
      ran.reason = `${ran.reason ? `${ran.reason}; ` : ''}the reboot command failed: ${(err as Error).message}`.slice(
        0,
        1024,
      );
      return '';
    }
  }

  async #rebootPending(plan: Plan, text: string): Promise<boolean> {
    const check = plan.reboot;
    if (check.kind === 'flag-file') return existsSync(check.path);
    if (check.kind === 'exit-code') {
      const r = await runStep(check.step, new BoundedOutput(1024, 0), Date.now() + 60_000, this.#journal!.dir);
      return r.exitCode === check.requiredCode;
    }
    return /\bREBOOT_REQUIRED\b/.test(text);
  }

  /**
   * Reports an outcome, then closes the journal entry. Report first: a crash between the two leaves the entry
   * "started", reported again as interrupted at the next start; the collector keeps the first outcome.
   */
  async #record(jobId: string, startedAt: number, outcome: Outcome): Promise<void> {
    const now = this.#ctx!.clock.now();
    await this.#ctx!.report({ type: 'job.status', time: now, jobId, ...outcome });
    this.#journal!.write({ jobId, state: outcome.state, startedAt, finishedAt: this.#ctx!.clock.now() });
  }
}

/** Runs a command to completion; rejects with its output when it fails. */
async function runArgv(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  const out = new BoundedOutput(2048, 0);
  const r = await runStep(
    { cmd: cmd!, args, env: {}, okCodes: [], rebootCodes: [], againCodes: [] },
    out,
    Date.now() + 60_000,
    '/',
  );
  if (r.exitCode !== 0) throw new Error(`${cmd} exited with ${r.exitCode ?? r.signal}: ${out.result().head.trim()}`);
}
