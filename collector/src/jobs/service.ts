/**
 * The jobs logic (docs/0010-jobs.md), no fastify: the script library, job creation over resolved targets, delivery
 * to agents (on connect and on a tick, inside each site's window, never past expiry), the agents' results from the
 * reliable stream (first outcome wins; an agent's word beats the collector's own `expired`/`cancelled`), cancel,
 * retry, and what changed on a machine for incidents.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { JobCancel, JobRun, JobSpec, JobStatus, RebootPolicy } from '@outpost/shared';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import { type Fence, fencedBy } from '../leases/index.js';
import type { JobInput, JobSpecInput, JobSummary, JobTarget, JobView, ScriptInput, TargetView } from './schemas.js';
import {
  type JobRecord,
  JobsStore,
  OPEN_STATES,
  type ScriptRecord,
  type TargetRecord,
  type TargetState,
} from './store.js';
import { resolveTargets, type TargetDeps, type TargetMachine } from './targets.js';
import { type JobWindow, windowOpen } from './window.js';

/** What the jobs concern needs from the others, as functions (it never reads their tables). */
export interface JobsDeps extends TargetDeps {
  siteTimezone(siteId: string): Promise<string | undefined>;
  hostname(agentId: string): Promise<string | undefined>;
  /** Sends a command to the agent when it is connected (to any collector node); false when it is not. */
  send(agentId: string, msg: JobRun | JobCancel): boolean | Promise<boolean>;
  /** True when the agent is connected to a node (the tick looks at those only: offline ones get theirs on connect). */
  online(agentId: string): boolean;
}

/** Tunables. */
export interface JobsOptions {
  /** How often queued jobs are looked at (windows opening, expiry). */
  tickMs: number;
}

const DEFAULT_TIMEOUT: Record<JobSpec['kind'], number> = { script: 300, software: 1800, patch: 3600 };
const FINAL: ReadonlySet<TargetState> = new Set(['succeeded', 'failed', 'timed_out', 'interrupted', 'refused']);
/** Outcomes `retry` runs again. */
const RETRYABLE: ReadonlySet<TargetState> = new Set(['failed', 'timed_out', 'interrupted', 'expired']);

const describeSpec = (s: JobSpec): string =>
  s.kind === 'script'
    ? `script ${s.name} v${s.version}`
    : s.kind === 'patch'
      ? `patch ${s.scope}`
      : `software ${s.action} ${s.packages.join(' ')}`;

/** What the jobs service is built from. */
export interface JobsInit {
  db: SqlDb;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  deps: JobsDeps;
  /** Tunables; a 2 s tick by default. */
  options?: JobsOptions | undefined;
}

/** The jobs service. */
export class Jobs {
  readonly store: JobsStore;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #lease: Fence | undefined;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly deps: JobsDeps;
  private readonly options: JobsOptions;

  constructor(init: JobsInit) {
    this.store = new JobsStore(init.db);
    this.audit = init.audit;
    this.clock = init.clock;
    this.logger = init.logger;
    this.deps = init.deps;
    this.options = init.options ?? { tickMs: 2000 };
  }

  // ---- script library ----

  /** Adds the next version of the script of this name in its scope (a new script, version 1, for a new name). */
  async addScript(actor: Actor, input: ScriptInput): Promise<ScriptRecord> {
    const clientId = input.clientId ?? null;
    const existing = await this.store.scriptByName(clientId, input.name);
    const record: ScriptRecord = {
      id: existing?.id ?? `sc_${randomBytes(12).toString('hex')}`,
      clientId,
      name: input.name,
      version: (existing?.version ?? 0) + 1,
      shell: input.shell,
      description: input.description,
      body: input.body,
      sha256: createHash('sha256').update(input.body, 'utf8').digest('hex'),
      signature: input.signature ?? null,
      createdBy: actorRef(actor).name,
      createdAt: this.clock.now(),
    };
    await this.store.addScript(record);
    await this.audit.record({
      type: 'script.add',
      code: 'OK',
      result: 'success',
      actor: actorRef(actor),
      clientId,
      resource: `script:${record.id}@${record.version}`,
      details: { name: record.name, sha256: record.sha256, signed: record.signature !== null },
    });
    return record;
  }

  // ---- jobs ----

  /** The machines a target names, within `clients` (see targets.ts). */
  resolveTargets(target: JobTarget, clients: readonly string[] | undefined): Promise<TargetMachine[]> {
    return resolveTargets(this.deps, target, clients);
  }

  /**
   * The wire spec of a requested job (a script is copied in with its body, hash and signature). A client's script
   * runs only on that client's machines; one of a client the caller may not see is unknown.
   */
  async #spec(input: JobSpecInput, targetClients: ReadonlySet<string>): Promise<JobSpec> {
    if (input.kind === 'patch') return { kind: 'patch', scope: input.scope ?? 'all' };
    if (input.kind !== 'script') return input;
    const s = await this.store.script(input.script, input.version);
    const visible = s && (s.clientId === null || targetClients.has(s.clientId));
    if (!s || !visible)
      throw new OutpostError('OUTPOST_E_NOT_FOUND', {
        message: `No script ${input.script}${input.version ? ` version ${input.version}` : ''}`,
      });
    if (s.clientId !== null && [...targetClients].some((c) => c !== s.clientId))
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: `Script ${s.name} belongs to one client; it cannot run on another client's machines`,
        details: { field: 'spec.script' },
      });
    return {
      kind: 'script',
      shell: s.shell,
      name: s.name,
      version: s.version,
      body: s.body,
      sha256: s.sha256,
      ...(s.signature ? { signature: s.signature } : {}),
      args: input.args ?? [],
    };
  }

  /** Creates a job on resolved targets (the route authorised every client among them). */
  async create(
    actor: Actor,
    input: JobInput,
    targets: { agentId: string; clientId: string; siteId: string }[],
    retry?: { of: string; spec: JobSpec },
  ): Promise<JobView> {
    if (targets.length === 0) throw new OutpostError('OUTPOST_E_JOB_NO_TARGETS');
    const retryOf = retry?.of ?? null;
    // A retry runs the very version (body, signature) the first job ran, even if the library moved on.
    const spec = retry?.spec ?? (await this.#spec(input.spec, new Set(targets.map((t) => t.clientId))));
    const now = this.clock.now();
    const reboot: RebootPolicy = input.reboot ?? { policy: 'never', delayMin: 5, message: '' };
    const job: JobRecord = {
      id: `jb_${randomBytes(12).toString('hex')}`,
      kind: spec.kind,
      spec: JSON.stringify(spec),
      target: JSON.stringify(input.target),
      reboot: JSON.stringify(reboot),
      timeoutSec: input.timeoutSec ?? DEFAULT_TIMEOUT[spec.kind],
      notBefore: input.notBefore ?? now,
      expiresAt: Math.max(input.notBefore ?? now, now) + input.expiresInSec * 1000,
      window: input.window ? JSON.stringify(input.window) : null,
      status: 'active',
      retryOf,
      createdBy: actorRef(actor).name,
      createdAt: now,
    };
    await this.store.createJob(job, targets);
    for (const clientId of new Set(targets.map((t) => t.clientId))) {
      await this.audit.record({
        type: retryOf ? 'job.retry' : 'job.create',
        code: 'OK',
        result: 'success',
        actor: actorRef(actor),
        clientId,
        resource: `job:${job.id}`,
        details: {
          what: describeSpec(spec),
          agents: targets.filter((t) => t.clientId === clientId).length,
          ...(retryOf ? { retryOf } : {}),
        },
      });
    }
    this.logger.info({ jobId: job.id, what: describeSpec(spec), agents: targets.length }, 'job created');
    const agentIds = [...new Set(targets.map((t) => t.agentId))];
    // Due now and with no window: one message for every connected target, their state written in one transaction.
    // Otherwise (a window, a later start) the per-agent dispatch judges each machine; the tick sends what becomes due.
    if (job.window === null && job.notBefore <= now) await this.#sendNew(job, agentIds, now);
    else for (const agentId of agentIds) await this.dispatch(agentId, false);
    return (await this.view(job.id))!;
  }

  /** The job with its machines. */
  async view(id: string, clients?: readonly string[]): Promise<JobView | undefined> {
    const job = await this.store.job(id);
    if (!job) return undefined;
    const all = await this.store.targets(id);
    const targets = clients ? all.filter((t) => clients.includes(t.clientId)) : all;
    if (targets.length === 0 && all.length > 0) return undefined;
    const views: TargetView[] = [];
    for (const t of targets) {
      const { jobId: _j, ...rest } = t;
      views.push({ ...rest, hostname: (await this.deps.hostname(t.agentId)) ?? t.agentId });
    }
    return { ...this.#summary(job, targets), targets: views };
  }

  /** Jobs touching the clients (undefined: all), newest first; with `agentId`, that machine's (counts: its target). */
  async list(clients: readonly string[] | undefined, limit: number, agentId?: string): Promise<JobSummary[]> {
    const out: JobSummary[] = [];
    for (const job of await this.store.jobs(clients, limit, agentId)) {
      const targets = (await this.store.targets(job.id)).filter(
        (t) => (!clients || clients.includes(t.clientId)) && (agentId === undefined || t.agentId === agentId),
      );
      out.push(this.#summary(job, targets));
    }
    return out;
  }

  #summary(job: JobRecord, targets: TargetRecord[]): JobSummary {
    const counts: Record<string, number> = {};
    for (const t of targets) counts[t.state] = (counts[t.state] ?? 0) + 1;
    return {
      id: job.id,
      kind: job.kind,
      what: describeSpec(JSON.parse(job.spec) as JobSpec),
      status: job.status,
      createdBy: job.createdBy,
      createdAt: job.createdAt,
      notBefore: job.notBefore,
      expiresAt: job.expiresAt,
      window: job.window ? (JSON.parse(job.window) as JobWindow) : null,
      reboot: JSON.parse(job.reboot) as RebootPolicy,
      timeoutSec: job.timeoutSec,
      retryOf: job.retryOf,
      counts,
    };
  }

  /** The clients a job touches (for authorisation). */
  async clientsOf(jobId: string): Promise<string[]> {
    return [...new Set((await this.store.targets(jobId)).map((t) => t.clientId))];
  }

  /**
   * Cancels a job: what was not sent never will be; agents it was sent to are told to stop it (`job.cancel`: a
   * running job's process group is killed, a queued one never starts) and report `cancelled`. An agent offline now
   * is told when it reconnects.
   */
  async cancel(actor: Actor, jobId: string): Promise<JobView> {
    const job = await this.store.job(jobId);
    if (!job) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No job ${jobId}` });
    if (job.status === 'cancelled')
      throw new OutpostError('OUTPOST_E_JOB_FINISHED', { message: `Job ${jobId} is already cancelled` });
    const reach = await this.store.stoppable(jobId);
    const n = await this.store.cancel(jobId, this.clock.now());
    let told = 0;
    for (const agentId of reach) if (await this.deps.send(agentId, { type: 'job.cancel', id: jobId })) told++;
    this.logger.info({ jobId, cancelledTargets: n, told }, 'job cancelled');
    for (const clientId of await this.clientsOf(jobId))
      await this.audit.record({
        type: 'job.cancel',
        code: 'OK',
        result: 'success',
        actor: actorRef(actor),
        clientId,
        resource: `job:${jobId}`,
        details: { cancelledTargets: n, agentsToldToStop: told },
      });
    return (await this.view(jobId))!;
  }

  /** A new job with the same spec on the machines where this one failed, timed out, was interrupted or expired. */
  async retry(actor: Actor, jobId: string): Promise<JobView> {
    const job = await this.store.job(jobId);
    if (!job) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No job ${jobId}` });
    const again = (await this.store.targets(jobId)).filter((t) => RETRYABLE.has(t.state));
    if (again.length === 0)
      throw new OutpostError('OUTPOST_E_JOB_FINISHED', { message: `Job ${jobId} has no failed machine to retry` });
    const spec = JSON.parse(job.spec) as JobSpec;
    const input: JobInput = {
      spec: spec.kind === 'script' ? { kind: 'patch' } : spec, // unused: the stored spec is reused as it is
      target: { agentIds: again.map((t) => t.agentId) },
      ...(job.window ? { window: JSON.parse(job.window) as JobWindow } : {}),
      expiresInSec: Math.max(1, Math.round((job.expiresAt - job.createdAt) / 1000)),
      timeoutSec: job.timeoutSec,
      reboot: JSON.parse(job.reboot) as RebootPolicy,
    };
    return this.create(actor, input, again, { of: jobId, spec });
  }

  // ---- delivery ----

  /**
   * Sends an agent the jobs it may run now: queued ones, and (on a new connection, `resend`) those sent before
   * without an answer — the agent's journal makes a resend harmless. Not before `notBefore`, not past expiry, and
   * only inside the job's window on the wall clock of the agent's site.
   */
  async dispatch(agentId: string, resend: boolean, lease?: Fence): Promise<number> {
    const now = this.clock.now();
    let sent = 0;
    if (resend)
      for (const id of await this.store.cancelledRunningOn(agentId))
        if (!(await this.deps.send(agentId, { type: 'job.cancel', id }))) return sent;
    for (const t of await this.store.pendingFor(agentId)) {
      if (t.state === 'sent' && !resend) continue;
      const job = t.job;
      if (job.expiresAt <= now || job.notBefore > now) continue;
      if (job.window) {
        const tz = (await this.deps.siteTimezone(t.siteId)) ?? 'UTC';
        if (!windowOpen(JSON.parse(job.window) as JobWindow, tz, now)) continue;
      }
      const msg: JobRun = {
        type: 'job.run',
        id: job.id,
        expiresAt: job.expiresAt,
        timeoutSec: job.timeoutSec,
        spec: JSON.parse(job.spec) as JobSpec,
        reboot: JSON.parse(job.reboot) as RebootPolicy,
      };
      if ((lease && !lease.valid()) || !(await this.deps.send(agentId, msg))) return sent;
      if (!(await fencedBy(lease, () => this.store.markSent(job.id, agentId, now)))) return sent;
      sent++;
      this.logger.info({ jobId: job.id, agentId }, 'job sent');
    }
    return sent;
  }

  /** Sends a just-created, due job to every connected target and marks those sent together. */
  async #sendNew(job: JobRecord, agentIds: readonly string[], now: number): Promise<void> {
    const msg: JobRun = {
      type: 'job.run',
      id: job.id,
      expiresAt: job.expiresAt,
      timeoutSec: job.timeoutSec,
      spec: JSON.parse(job.spec) as JobSpec,
      reboot: JSON.parse(job.reboot) as RebootPolicy,
    };
    const delivered = await Promise.all(agentIds.map((agentId) => this.deps.send(agentId, msg)));
    const sent = agentIds.filter((_, i) => delivered[i]);
    await this.store.markSentMany(job.id, sent, now);
    this.logger.info({ jobId: job.id, agents: sent.length, offline: agentIds.length - sent.length }, 'job sent');
  }

  /** One pass: expire what is past its time, send what became due; under the `jobs` lease, fenced by its epoch. */
  async tick(lease: Fence | undefined = this.#lease): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const expired: unknown[] = [];
      if (!(await fencedBy(lease, async () => void expired.push(...(await this.store.expire(this.clock.now()))))))
        return;
      if (expired.length) this.logger.info({ targets: expired.length }, 'job targets expired');
      for (const agentId of await this.store.agentsWithQueued())
        if (this.deps.online(agentId)) await this.dispatch(agentId, false, lease);
    } finally {
      this.#ticking = false;
    }
  }

  // ---- results ----

  /** Stores what agents reported (the `job.status` stream sink). */
  async ingest(items: { agentId: string; msg: JobStatus }[], now: number): Promise<void> {
    for (const { agentId, msg } of items) {
      const t = await this.store.target(msg.jobId, agentId);
      if (!t) {
        this.logger.warn({ agentId, jobId: msg.jobId }, 'job status for a job this agent was never sent: ignored');
        continue;
      }
      // First outcome wins; the collector's own expired/cancelled give way to what the machine says it did.
      if (FINAL.has(t.state)) continue;
      if (msg.state === 'started') {
        if (t.state === 'started') continue;
        await this.store.saveResult({ ...t, state: 'started', startedAt: msg.time, reason: '' });
        continue;
      }
      await this.store.saveResult({
        ...t,
        state: msg.state,
        startedAt:
          t.startedAt ?? (msg.state === 'refused' || msg.state === 'expired' ? null : msg.time - msg.durationMs),
        finishedAt: msg.time,
        exitCode: msg.exitCode,
        signal: msg.signal,
        durationMs: msg.durationMs,
        outputHead: msg.outputHead,
        outputTail: msg.outputTail,
        truncatedBytes: msg.truncatedBytes,
        rebootRequired: msg.rebootRequired,
        rebootScheduled: msg.rebootScheduled,
        reason: msg.reason,
      });
      if (msg.state === 'refused' || msg.state === 'interrupted' || msg.rebootScheduled)
        await this.audit.record({
          type: `job.${msg.state === 'refused' ? 'refused' : msg.state === 'interrupted' ? 'interrupted' : 'reboot'}`,
          code: /^(OUTPOST_E_[A-Z_]+)/.exec(msg.reason)?.[1] ?? 'OK',
          result: msg.state === 'refused' ? 'denied' : msg.state === 'interrupted' ? 'failure' : 'success',
          actor: { kind: 'agent', id: agentId, name: agentId },
          clientId: t.clientId,
          agentId,
          resource: `job:${msg.jobId}`,
          details: { reason: msg.reason.slice(0, 300), rebootScheduled: msg.rebootScheduled, at: now },
        });
    }
  }

  /** Jobs that changed a machine between two instants, as incidents' "what changed" lines. */
  async recentChanges(agentId: string, from: number, to: number) {
    return (await this.store.finishedOn(agentId, from, to)).map((t) => ({
      time: t.finishedAt ?? to,
      summary: `job ${t.jobId} (${describeSpec(JSON.parse(t.spec) as JobSpec)}) ${t.state.replace('_', ' ')}${t.exitCode !== null ? ` (exit ${t.exitCode})` : ''}`,
      kind: 'job',
      subject: t.jobId,
    }));
  }

  start(lease?: Fence): void {
    this.#lease = lease;
    this.#timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.logger.error({ err }, 'jobs tick failed'));
    }, this.options.tickMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

export { OPEN_STATES };
