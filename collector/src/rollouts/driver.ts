/**
 * The rollout driver (docs/0011-releases.md, "Rollouts"): on a timer, for every rollout with work left, it reads the
 * rows, hears what agents reported for their assignments, halts a wave past its threshold (incident first), assigns
 * pending machines (at most N in flight, after their jitter) through the updates concern's seam, bakes, and moves
 * to the next wave. Everything comes from the store at every tick: a collector killed at any point resumes.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import { type Fence, fencedBy } from '../leases/index.js';
import { type AgentState, BAD_STATES, IN_FLIGHT, judgeWave, waveDone } from './halt.js';
import { raiseHaltIncidents } from './incident.js';
import { judgeAgent } from './observe.js';
import { jitterOf } from './plan.js';
import { addCount, emptyCounts, type RolloutsDeps, type RolloutsOptions } from './ports.js';
import { type RolloutAgent, type RolloutRecord, type RolloutsStore, TERMINAL } from './store.js';

const SYSTEM: Actor = { kind: 'system', id: 'system' };

/** Thrown out of a pass whose lease was lost: what is left is the new holder's. */
class LeaseLost extends Error {}

/** What RolloutDriver is built from (one options object, not positional arguments). */
export interface RolloutDriverInit {
  store: RolloutsStore;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  deps: RolloutsDeps;
  options: RolloutsOptions;
}

/** Drives every rollout with work left. */
export class RolloutDriver {
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  /** Assignments recorded before a crash are issued again once (idempotent by id) at the first tick. */
  #reissued = false;
  /** The `rollouts` lease `start` was given; the pass in progress writes and sends under `#pass`. */
  #lease: Fence | undefined;
  #pass: Fence | undefined;

  private readonly store: RolloutsStore;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly deps: RolloutsDeps;
  private readonly options: RolloutsOptions;
  constructor(init: RolloutDriverInit) {
    const { store, audit, clock, logger, deps, options } = init;
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.logger = logger;
    this.deps = deps;
    this.options = options;
  }

  /**
   * One pass over every rollout with work left. Never runs twice at once. Under the `rollouts` lease (by default
   * `start`'s) each write commits only under its epoch and nothing is sent once it is no longer held: a holder paused
   * past a takeover starts no wave and assigns no machine a second time (docs/0017-nodes.md, "Fencing").
   */
  async tick(lease: Fence | undefined = this.#lease): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    this.#pass = lease;
    try {
      for (const r of await this.store.active()) {
        try {
          await this.#drive(r);
        } catch (err) {
          if (err instanceof LeaseLost) {
            this.logger.warn({ rolloutId: r.id }, 'rollout pass stopped: the rollouts lease is no longer held');
            return;
          }
          // One rollout's trouble (a store error, an agent lookup) must not stop the others.
          this.logger.error({ err, rolloutId: r.id }, 'rollout tick failed');
        }
      }
      this.#reissued = true;
    } finally {
      this.#ticking = false;
    }
  }

  /** Starts the timer; under the `rollouts` lease, its passes are fenced by it. */
  start(lease?: Fence): void {
    this.#lease = lease;
    this.#timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.logger.error({ err }, 'rollouts tick failed'));
    }, this.options.tickMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #drive(r: RolloutRecord): Promise<void> {
    await this.#observe(r);
    if (r.state !== 'running') return;
    const now = this.clock.now();
    if (r.wave >= r.waves.length) return this.#finish(r, now);
    const agents = await this.store.wave(r.id, r.wave);
    if (r.waveStartedAt === null) {
      r.waveStartedAt = now;
      r.updatedAt = now;
      await this.#write(async () => {
        await this.store.save(r);
        await this.#audit(r, 'rollout.wave', 'OUTPOST_I_ROLLOUT_WAVE', 'success', {
          version: r.version,
          wave: r.wave,
          name: r.waves[r.wave] ?? String(r.wave),
          agents: agents.length,
        });
      });
      this.logger.info({ rolloutId: r.id, wave: r.wave, name: r.waves[r.wave], agents: agents.length }, 'wave started');
    }
    const states = agents.map((a) => a.state);
    const verdict = judgeWave(
      states,
      { count: r.options.haltCount ?? undefined, percent: r.options.haltPercent ?? undefined },
      r.forgiven,
    );
    if (verdict.halt) return this.#halt(r, agents, verdict.why);
    if (waveDone(states)) {
      if (r.waveDoneAt === null) {
        r.waveDoneAt = now;
        r.updatedAt = now;
        await this.#write(() => this.store.save(r));
        this.logger.info({ rolloutId: r.id, wave: r.wave, bakeMs: r.options.bakeMs }, 'wave done, baking');
      }
      // The bake guards the next wave; after the last one there is nothing left to protect.
      if (r.wave < r.waves.length - 1 && now < r.waveDoneAt + r.options.bakeMs) return;
      r.wave++;
      r.waveStartedAt = null;
      r.waveDoneAt = null;
      r.forgiven = 0;
      r.updatedAt = now;
      if (r.wave >= r.waves.length) return this.#finish(r, now);
      await this.#write(() => this.store.save(r));
      return;
    }
    await this.#assignSome(r, agents, now);
  }

  /** Hears what agents in flight (and the current wave's healthy ones: a late rollback) reported. */
  async #observe(r: RolloutRecord): Promise<void> {
    let lateFailure = false;
    const watched = await this.store.inFlight(r.id);
    if (!TERMINAL.has(r.state) && r.wave < r.waves.length)
      for (const a of await this.store.wave(r.id, r.wave)) if (a.state === 'healthy') watched.push(a);
    const now = this.clock.now();
    for (const a of watched) {
      if (!a.assignmentId) continue;
      if (!this.#reissued && a.state === 'assigned') await this.#send(r, a);
      const before = a.state;
      judgeAgent(a, r, await this.deps.outcome(a.agentId, a.assignmentId), await this.deps.agent(a.agentId), now);
      if (a.state !== before) {
        if (BAD_STATES.has(a.state) && a.wave === r.wave) lateFailure = true;
        await this.#write(() => this.store.saveAgent(a));
        this.logger[BAD_STATES.has(a.state) ? 'warn' : 'info'](
          { rolloutId: r.id, agentId: a.agentId, from: before, to: a.state, code: a.code },
          'rollout agent state',
        );
      }
    }
    // A machine of a halted wave that was still updating fails after the halt: its incident names it too.
    if (lateFailure && r.haltReason !== null) {
      const bad = (await this.store.wave(r.id, r.wave)).filter((a) => BAD_STATES.has(a.state));
      this.#holding();
      await raiseHaltIncidents(this.deps.incidents, r, bad, r.haltReason, this.clock.now());
    }
  }

  /** Assigns to pending agents of the wave, in order, up to the concurrency limit, once their jitter has passed. */
  async #assignSome(r: RolloutRecord, agents: RolloutAgent[], now: number): Promise<void> {
    let inFlight = agents.filter((a) => IN_FLIGHT.has(a.state)).length;
    // Each pending machine's start (its jitter) is fixed once, the whole wave in one transaction: one write per
    // machine made the first tick of a 5,000-machine wave take seconds of fsyncs (bench:rollout).
    const unplanned = agents.filter((a) => a.state === 'pending' && a.notBefore === null);
    for (const a of unplanned) a.notBefore = r.waveStartedAt! + jitterOf(r.id, a.agentId, r.options.jitterMs);
    await this.#write(() => this.store.saveAgents(unplanned));
    for (const a of agents) {
      if (inFlight >= r.options.maxConcurrent) return;
      if (a.state !== 'pending') continue;
      if (a.notBefore! > now) continue;
      const info = await this.deps.agent(a.agentId);
      if (!info || info.revoked) {
        await this.#settle(a, 'skipped', 'no longer enrolled', now);
        continue;
      }
      if (info.version === r.version) {
        await this.#settle(a, 'healthy', `already on ${r.version}`, now);
        continue;
      }
      if (!info.online) {
        // A machine briefly away (a reboot, the collector's own restart) gets until the deadline to come back.
        if (now > r.waveStartedAt! + r.options.deadlineMs)
          await this.#settle(a, 'skipped', 'offline while its wave ran: never assigned', now);
        continue;
      }
      a.state = 'assigned';
      a.attempts++;
      a.assignmentId = randomBytes(12).toString('base64url');
      a.assignedAt = now;
      a.deadlineAt = now + r.options.deadlineMs;
      // Recorded before it is sent: a crash in between re-sends the same id at the next start (the agent acts once).
      await this.#write(() => this.store.saveAgent(a));
      await this.#send(r, a);
      inFlight++;
    }
  }

  async #send(r: RolloutRecord, a: RolloutAgent): Promise<void> {
    this.#holding();
    const sent = await this.deps.assign({
      agentId: a.agentId,
      clientId: a.clientId,
      version: r.version,
      id: a.assignmentId!,
      rolloutId: r.id,
    });
    this.logger.info({ rolloutId: r.id, agentId: a.agentId, version: r.version, sent }, 'rollout assigned');
  }

  async #settle(a: RolloutAgent, state: AgentState, reason: string, now: number): Promise<void> {
    a.state = state;
    a.reason = reason;
    a.finishedAt = now;
    await this.#write(() => this.store.saveAgent(a));
  }

  /** Commits `fn`'s writes under the pass's lease (its epoch checked in the same transaction); stops a lost pass. */
  async #write(fn: () => Promise<void>): Promise<void> {
    if (!(await fencedBy(this.#pass, fn))) throw new LeaseLost();
  }

  /** Before an effect outside the database (a send, an incident): stops a pass whose lease is no longer held. */
  #holding(): void {
    if (this.#pass && !this.#pass.valid()) throw new LeaseLost();
  }

  #audit(r: RolloutRecord, type: string, code: string, result: 'success' | 'failure', details: object) {
    return this.audit.record({
      type,
      code,
      result,
      actor: actorRef(SYSTEM),
      clientId: null,
      resource: `rollout:${r.id}`,
      details: details as Record<string, unknown>,
    });
  }

  /** Halts: incident first (idempotent by key, so a crash before the state is saved raises it again harmlessly). */
  async #halt(r: RolloutRecord, agents: RolloutAgent[], why: string): Promise<void> {
    const now = this.clock.now();
    const reason = `wave ${r.wave + 1} (${r.waves[r.wave] ?? String(r.wave)}): ${why}`;
    const bad = agents.filter((a) => BAD_STATES.has(a.state));
    this.#holding();
    const incidentIds = await raiseHaltIncidents(this.deps.incidents, r, bad, reason, now);
    r.state = 'halted';
    r.haltReason = reason;
    r.updatedAt = now;
    await this.#write(async () => {
      await this.store.save(r);
      await this.#audit(r, 'rollout.halt', 'OUTPOST_I_ROLLOUT_HALTED', 'failure', {
        ...{ version: r.version, wave: r.wave, reason, incidentIds },
        agents: bad.map((a) => a.agentId),
      });
    });
    this.logger.warn({ rolloutId: r.id, wave: r.wave, reason, incidentIds }, 'rollout halted');
  }

  async #finish(r: RolloutRecord, now: number): Promise<void> {
    r.state = 'completed';
    r.finishedAt = now;
    r.updatedAt = now;
    const counts = emptyCounts();
    await this.#write(async () => {
      await this.store.save(r);
      for (const c of await this.store.counts(r.id)) addCount(counts, c.state, c.n);
      await this.#audit(r, 'rollout.complete', 'OUTPOST_I_ROLLOUT_COMPLETED', 'success', {
        version: r.version,
        ...counts,
      });
    });
    this.logger.info({ rolloutId: r.id, version: r.version, ...counts }, 'rollout completed');
  }
}
