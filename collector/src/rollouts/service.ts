/**
 * The rollouts logic (docs/0010-releases.md, "Rollouts"), no fastify: plans a rollout of a signed release over a
 * target in waves, and a timer drives it. Each tick reads the state from the store, hears what the agents reported
 * for their assignments (through the updates concern), halts the wave when failures cross the threshold (opening
 * an incident, which notifies), assigns the release wave by wave through the updates concern's `assign` seam (at
 * most N at once, with per-agent jitter), bakes, and moves on. Nothing is kept only in memory: a collector killed
 * at any point resumes from the rows.
 */
import { randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { Db } from '../db/index.js';
import type { IncidentSink } from '../incidents/index.js';
import { type AgentState, BAD_STATES, FINAL_STATES, IN_FLIGHT, judgeWave, waveDone } from './halt.js';
import { jitterOf, planWaves } from './plan.js';
import type { RolloutInput, RolloutTarget } from './schemas.js';
import {
  type RolloutAgent,
  type RolloutOptions,
  type RolloutRecord,
  type RolloutState,
  RolloutsStore,
  TERMINAL,
} from './store.js';

/** An agent as the rollout sees it. */
export interface FleetAgent {
  agentId: string;
  clientId: string;
  siteId: string;
  /** The release platform (`linux-x64`), from the agent's reported OS and architecture. */
  platform: string;
  /** The version it reported at its last hello. */
  version: string;
  online: boolean;
  revoked: boolean;
}

/** What an agent reported for one assignment (its latest step). */
export interface AssignmentOutcome {
  phase: 'refused' | 'swapped' | 'healthy' | 'rolled_back';
  code: string | null;
  reason: string | null;
  time: number;
}

/** What the rollouts concern needs from the others, as functions (it never reads their tables). */
export interface RolloutsDeps {
  /** The agents a target names (not revoked). */
  resolve(target: RolloutTarget): Promise<FleetAgent[]>;
  /** One agent now, or undefined when it is unknown. */
  agent(agentId: string): Promise<FleetAgent | undefined>;
  /** The updates concern's seam: assign `version` under this id (idempotent by id); true when sent now. */
  assign(a: { agentId: string; clientId: string; version: string; id: string; rolloutId: string }): Promise<boolean>;
  /** The latest step an agent reported for an assignment. */
  outcome(agentId: string, assignmentId: string): Promise<AssignmentOutcome | undefined>;
  /** Published releases (version, platform, signed as a rollback target). */
  releases(): { version: string; platform: string; rollbackAllowed: boolean }[];
  /** Where a halt opens its incident (notifications follow from the incidents concern). */
  incidents: IncidentSink;
}

/** Tunables of the driver. */
export interface RolloutsOptions {
  tickMs: number;
}

/** Counts of a wave, as people read them. */
export interface WaveCounts {
  pending: number;
  updating: number;
  healthy: number;
  failed: number;
  rolledBack: number;
  skipped: number;
}

const SYSTEM: Actor = { kind: 'system', id: 'system' };
const DEFAULTS = {
  canary: 5,
  percents: [5, 25, 100],
  bakeSec: 3600,
  deadlineSec: 900,
  maxConcurrent: 10,
  jitterSec: 600,
  haltAfter: 1,
} as const;

/**
 * Refusals that may say nothing about the release: the collector could not serve it for a moment (its own restart,
 * a dropped connection), the agent was still busy with an earlier update, or the 5 s pre-flight `--version` ran out
 * of time on a loaded machine (seen with six 120 MB executables starting at once on two cores). Retried under a new
 * id, a few times; a release that is really broken fails every attempt and then counts.
 */
const TRANSIENT = new Set(['OUTPOST_E_UPDATE_FETCH', 'OUTPOST_E_UPDATE_BUSY', 'OUTPOST_E_UPDATE_PREFLIGHT']);
const MAX_ATTEMPTS = 3;
const RETRY_AFTER_MS = 5000;

const emptyCounts = (): WaveCounts => ({ pending: 0, updating: 0, healthy: 0, failed: 0, rolledBack: 0, skipped: 0 });
function addCount(c: WaveCounts, s: AgentState, n = 1): void {
  if (s === 'pending') c.pending += n;
  else if (s === 'assigned' || s === 'updating') c.updating += n;
  else if (s === 'healthy') c.healthy += n;
  else if (s === 'failed' || s === 'timed_out') c.failed += n;
  else if (s === 'rolled_back') c.rolledBack += n;
  else c.skipped += n;
}

/** The release platform of an agent's OS and architecture (the packaging's names). */
export function releasePlatformOf(os: { platform: string; arch: string }): string {
  const name = os.platform === 'win32' ? 'win' : os.platform;
  return `${name}-${os.arch}`;
}

/** The rollouts service. */
export class Rollouts {
  readonly store: RolloutsStore;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  /** Assignments recorded before a crash are issued again once (idempotent by id) at the first tick. */
  #reissued = false;

  constructor(
    db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly deps: RolloutsDeps,
    private readonly options: RolloutsOptions = { tickMs: 1000 },
  ) {
    this.store = new RolloutsStore(db);
  }

  // ---- commands ----

  /** Plans and starts a rollout (the first wave begins at the next tick). */
  async create(actor: Actor, input: RolloutInput): Promise<RolloutRecord> {
    const percents = input.waves ?? [...DEFAULTS.percents];
    if (percents.some((p, i) => i > 0 && p <= percents[i - 1]!) || percents.at(-1) !== 100)
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: 'Wave percentages must increase and end at 100 (e.g. 5,25,100)',
        details: { field: 'waves' },
      });
    await this.#onlyOne();
    const fleet = (await this.deps.resolve(input.target)).filter((a) => !a.revoked);
    if (fleet.length === 0) throw new OutpostError('OUTPOST_E_ROLLOUT_NO_TARGETS');
    this.#requireRelease(input.version, fleet, false);
    const options: RolloutOptions = {
      bakeMs: (input.bakeSec ?? DEFAULTS.bakeSec) * 1000,
      deadlineMs: (input.deadlineSec ?? DEFAULTS.deadlineSec) * 1000,
      maxConcurrent: input.maxConcurrent ?? DEFAULTS.maxConcurrent,
      jitterMs: (input.jitterSec ?? DEFAULTS.jitterSec) * 1000,
      haltCount:
        input.haltAfter === undefined && input.haltPercent === undefined
          ? DEFAULTS.haltAfter
          : (input.haltAfter ?? null),
      haltPercent: input.haltPercent ?? null,
    };
    const id = `ro_${randomBytes(12).toString('hex')}`;
    const waves = planWaves({
      rolloutId: id,
      agentIds: fleet.map((a) => a.agentId),
      ring: input.ring ?? [],
      canary: input.canary ?? DEFAULTS.canary,
      percents,
    });
    return this.#write(actor, {
      id,
      kind: 'rollout',
      version: input.version,
      rollbackOf: null,
      target: input.target,
      options,
      waves,
      fleet,
    });
  }

  /** Pauses a running rollout: nothing more is assigned; agents already updating finish and are heard. */
  pause(actor: Actor, id: string): Promise<RolloutRecord> {
    return this.#transition(actor, id, 'pause', ['running'], (r) => {
      r.state = 'paused';
    });
  }

  /** Resumes a paused or halted rollout; the failures that halted the wave are accepted, not counted again. */
  resume(actor: Actor, id: string): Promise<RolloutRecord> {
    return this.#transition(actor, id, 'resume', ['paused', 'halted'], async (r) => {
      if (r.state === 'halted' && r.wave < r.waves.length)
        r.forgiven = (await this.store.wave(r.id, r.wave)).filter((a) => BAD_STATES.has(a.state)).length;
      r.state = 'running';
      r.haltReason = null;
    });
  }

  /** Stops assigning for good; agents already on the new version stay there. */
  abort(actor: Actor, id: string): Promise<RolloutRecord> {
    return this.#transition(actor, id, 'abort', ['running', 'paused', 'halted'], (r) => {
      r.state = 'aborted';
      r.finishedAt = this.clock.now();
    });
  }

  /**
   * Fleet-wide rollback: a new rollout (kind `rollback`, one wave, never halting) assigning `to` — by default the
   * version the machines ran before — to every machine of this rollout that got or may have got the new version.
   * Agents only accept it when the offline targets key signed `to` as a rollback target for their platform; the
   * collector checks that first and refuses, naming what is missing, rather than assign what agents would refuse.
   */
  async rollback(actor: Actor, id: string, to?: string): Promise<RolloutRecord> {
    const r = await this.#load(id);
    if (r.state === 'rolled_back' || r.kind === 'rollback')
      throw new OutpostError('OUTPOST_E_ROLLOUT_STATE', {
        message: `Rollout ${id} is ${r.kind === 'rollback' ? 'itself a rollback' : 'already rolled back'}`,
      });
    const touched = (await this.store.agents(id)).filter((a) => a.state === 'healthy' || IN_FLIGHT.has(a.state));
    if (touched.length === 0)
      throw new OutpostError('OUTPOST_E_ROLLOUT_NO_TARGETS', {
        message: `No machine of rollout ${id} got ${r.version}`,
      });
    const froms = [...new Set(touched.map((a) => a.fromVersion))];
    const version = to ?? (froms.length === 1 ? froms[0]! : undefined);
    if (!version)
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: `The machines ran ${froms.join(', ')} before; say which one to go back to (--to)`,
        details: { field: 'version' },
      });
    const fleet: FleetAgent[] = [];
    for (const a of touched) {
      const now = await this.deps.agent(a.agentId);
      if (now && !now.revoked) fleet.push(now);
    }
    this.#requireRelease(version, fleet, true);
    await this.#onlyOne(id);
    if (!TERMINAL.has(r.state)) {
      r.finishedAt = this.clock.now();
    }
    r.state = 'rolled_back';
    r.updatedAt = this.clock.now();
    await this.store.save(r);
    const rid = `ro_${randomBytes(12).toString('hex')}`;
    return this.#write(actor, {
      id: rid,
      kind: 'rollback',
      version,
      rollbackOf: id,
      target: { agentIds: fleet.map((a) => a.agentId) },
      options: { ...r.options, bakeMs: 0, jitterMs: 0, haltCount: null, haltPercent: null },
      waves: [{ name: 'rollback', agentIds: fleet.map((a) => a.agentId) }],
      fleet,
    });
  }

  // ---- reading ----

  /** A rollout, or OUTPOST_E_NOT_FOUND. */
  async get(id: string): Promise<RolloutRecord> {
    return this.#load(id);
  }

  /** Per-wave counts of a rollout (index order), and its agents. */
  async progress(r: RolloutRecord): Promise<{ waves: WaveCounts[]; agents: RolloutAgent[] }> {
    const agents = await this.store.agents(r.id);
    const waves = r.waves.map(emptyCounts);
    for (const a of agents) addCount(waves[a.wave]!, a.state);
    return { waves, agents };
  }

  list(limit: number): Promise<RolloutRecord[]> {
    return this.store.list(limit);
  }

  // ---- the driver ----

  /** One pass over every rollout with work left. Never runs twice at once. */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      for (const r of await this.store.active()) {
        try {
          await this.#drive(r);
        } catch (err) {
          // One rollout's trouble (a store error, an agent lookup) must not stop the others.
          this.logger.error({ err, rolloutId: r.id }, 'rollout tick failed');
        }
      }
      this.#reissued = true;
    } finally {
      this.#ticking = false;
    }
  }

  start(): void {
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
      await this.store.save(r);
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
        await this.store.save(r);
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
      await this.store.save(r);
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
      const o = await this.deps.outcome(a.agentId, a.assignmentId);
      const before = a.state;
      if (o?.phase === 'refused' && o.code && TRANSIENT.has(o.code) && a.attempts < MAX_ATTEMPTS) {
        a.state = 'pending';
        a.assignmentId = null;
        a.notBefore = now + RETRY_AFTER_MS;
        a.code = o.code;
        a.reason = `attempt ${a.attempts} refused (${o.reason ?? o.code}); retrying`;
      } else if (o?.phase === 'refused' || o?.phase === 'rolled_back') {
        a.state = o.phase === 'refused' ? 'failed' : 'rolled_back';
        a.code = o.code;
        a.reason = o.reason;
        a.finishedAt = o.time;
      } else if (a.state !== 'healthy') {
        const info = await this.deps.agent(a.agentId);
        if (o?.phase === 'healthy' || (info?.online && info.version === r.version)) {
          a.state = 'healthy';
          a.finishedAt = now;
        } else if (a.deadlineAt !== null && now > a.deadlineAt) {
          a.state = 'timed_out';
          a.code = 'OUTPOST_E_ROLLOUT_TIMEOUT';
          a.reason = `not back online on ${r.version} within ${Math.round(r.options.deadlineMs / 1000)} s of its assignment`;
          a.finishedAt = now;
        } else if (o?.phase === 'swapped') a.state = 'updating';
      }
      if (a.state !== before) {
        if (BAD_STATES.has(a.state) && a.wave === r.wave) lateFailure = true;
        await this.store.saveAgent(a);
        this.logger[BAD_STATES.has(a.state) ? 'warn' : 'info'](
          { rolloutId: r.id, agentId: a.agentId, from: before, to: a.state, code: a.code },
          'rollout agent state',
        );
      }
    }
    // A machine of a halted wave that was still updating fails after the halt: its incident names it too.
    if (lateFailure && r.haltReason !== null) {
      const bad = (await this.store.wave(r.id, r.wave)).filter((a) => BAD_STATES.has(a.state));
      await this.#raise(r, bad, r.haltReason);
    }
  }

  /** Assigns to pending agents of the wave, in order, up to the concurrency limit, once their jitter has passed. */
  async #assignSome(r: RolloutRecord, agents: RolloutAgent[], now: number): Promise<void> {
    let inFlight = agents.filter((a) => IN_FLIGHT.has(a.state)).length;
    for (const a of agents) {
      if (inFlight >= r.options.maxConcurrent) return;
      if (a.state !== 'pending') continue;
      if (a.notBefore === null) {
        a.notBefore = r.waveStartedAt! + jitterOf(r.id, a.agentId, r.options.jitterMs);
        await this.store.saveAgent(a);
      }
      if (a.notBefore > now) continue;
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
      await this.store.saveAgent(a);
      await this.#send(r, a);
      inFlight++;
    }
  }

  async #send(r: RolloutRecord, a: RolloutAgent): Promise<void> {
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
    await this.store.saveAgent(a);
  }

  /** Halts: incident first (idempotent by key, so a crash before the state is saved raises it again harmlessly). */
  async #halt(r: RolloutRecord, agents: RolloutAgent[], why: string): Promise<void> {
    const now = this.clock.now();
    const reason = `wave ${r.wave + 1} (${r.waves[r.wave] ?? String(r.wave)}): ${why}`;
    const bad = agents.filter((a) => BAD_STATES.has(a.state));
    const incidentIds = await this.#raise(r, bad, reason);
    r.state = 'halted';
    r.haltReason = reason;
    r.updatedAt = now;
    await this.store.save(r);
    await this.audit.record({
      type: 'rollout.halt',
      code: 'OUTPOST_I_ROLLOUT_HALTED',
      result: 'failure',
      actor: actorRef(SYSTEM),
      clientId: null,
      resource: `rollout:${r.id}`,
      details: { version: r.version, wave: r.wave, reason, incidentIds, agents: bad.map((a) => a.agentId) },
    });
    this.logger.warn({ rolloutId: r.id, wave: r.wave, reason, incidentIds }, 'rollout halted');
  }

  /** One incident per client of the failed machines; raising the same key again adds machines to the open one. */
  async #raise(r: RolloutRecord, bad: RolloutAgent[], reason: string): Promise<string[]> {
    const now = this.clock.now();
    const name = r.waves[r.wave] ?? String(r.wave);
    const byClient = new Map<string, RolloutAgent[]>();
    for (const a of bad) byClient.set(a.clientId, [...(byClient.get(a.clientId) ?? []), a]);
    const incidentIds: string[] = [];
    for (const [clientId, list] of byClient) {
      const lines = list.map(
        (a) =>
          `${a.agentId}: ${a.state.replace('_', ' ')}${a.code ? ` ${a.code}` : ''}${a.reason ? ` — ${a.reason}` : ''}`,
      );
      const { incidentId } = await this.deps.incidents.raise({
        key: `rollout:${r.id}:${r.wave}:${clientId}`,
        clientId,
        siteId: list[0]!.siteId,
        agentIds: list.map((a) => a.agentId),
        source: 'rollout',
        rule: `rollout:${r.id}`,
        type: 'update',
        criticality: 'P2',
        tier: 2,
        failureTime: Math.min(...list.map((a) => a.finishedAt ?? now)),
        detectedAt: now,
        title: `Rollout of agent ${r.version} halted in wave ${r.wave + 1} (${name})`,
        explanation:
          `${reason}. Later waves will not be assigned ${r.version}. ` +
          `Resume (outpost rollouts resume ${r.id}), abort, or roll back (outpost rollouts rollback ${r.id}).\n${lines.join('\n')}`,
        context: {
          rolloutId: r.id,
          version: r.version,
          wave: r.wave,
          waveName: name,
          agents: list.map((a) => ({ agentId: a.agentId, state: a.state, code: a.code, reason: a.reason })),
        },
      });
      incidentIds.push(incidentId);
    }
    return incidentIds;
  }

  async #finish(r: RolloutRecord, now: number): Promise<void> {
    r.state = 'completed';
    r.finishedAt = now;
    r.updatedAt = now;
    await this.store.save(r);
    const counts = emptyCounts();
    for (const c of await this.store.counts(r.id)) addCount(counts, c.state, c.n);
    await this.audit.record({
      type: 'rollout.complete',
      code: 'OUTPOST_I_ROLLOUT_COMPLETED',
      result: 'success',
      actor: actorRef(SYSTEM),
      clientId: null,
      resource: `rollout:${r.id}`,
      details: { version: r.version, ...counts },
    });
    this.logger.info({ rolloutId: r.id, version: r.version, ...counts }, 'rollout completed');
  }

  // ---- helpers ----

  async #load(id: string): Promise<RolloutRecord> {
    const r = await this.store.rollout(id);
    if (!r) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No rollout ${id.slice(0, 64)}` });
    return r;
  }

  /** One rollout at a time: two would race for the same machines' single assignment slot. */
  async #onlyOne(except?: string): Promise<void> {
    const other = (await this.store.active()).find((x) => !TERMINAL.has(x.state) && x.id !== except);
    if (other)
      throw new OutpostError('OUTPOST_E_ROLLOUT_STATE', {
        message: `Rollout ${other.id} of ${other.version} is ${other.state}; abort it or let it finish first`,
        details: { rolloutId: other.id, state: other.state },
      });
  }

  /** Refuses a version not published (or, for a rollback, not signed as a rollback target) for every platform. */
  #requireRelease(version: string, fleet: FleetAgent[], rollback: boolean): void {
    const published = this.deps.releases().filter((x) => x.version === version && (!rollback || x.rollbackAllowed));
    const have = new Set(published.map((x) => x.platform));
    const missing = [...new Set(fleet.map((a) => a.platform))].filter((p) => !have.has(p)).sort();
    if (missing.length === 0) return;
    throw new OutpostError(rollback ? 'OUTPOST_E_ROLLOUT_NO_ROLLBACK_TARGET' : 'OUTPOST_E_ROLLOUT_NO_RELEASE', {
      message: rollback
        ? `${version} is not signed as a rollback target for ${missing.join(', ')}`
        : `${version} is not published for ${missing.join(', ')}`,
      details: { version, platforms: missing },
    });
  }

  async #transition(
    actor: Actor,
    id: string,
    verb: 'pause' | 'resume' | 'abort',
    from: RolloutState[],
    change: (r: RolloutRecord) => void | Promise<void>,
  ): Promise<RolloutRecord> {
    const r = await this.#load(id);
    if (!from.includes(r.state))
      throw new OutpostError('OUTPOST_E_ROLLOUT_STATE', {
        message: `Rollout ${id} is ${r.state}; ${verb} needs it ${from.join(' or ')}`,
        details: { state: r.state },
      });
    if (verb === 'resume') await this.#onlyOne(id);
    const was = r.state;
    await change(r);
    r.updatedAt = this.clock.now();
    await this.store.save(r);
    await this.audit.record({
      type: `rollout.${verb}`,
      code: 'OK',
      result: 'success',
      actor: actorRef(actor),
      clientId: null,
      resource: `rollout:${id}`,
      details: { version: r.version, from: was, to: r.state, wave: r.wave },
    });
    this.logger.info({ rolloutId: id, from: was, to: r.state }, `rollout ${verb}`);
    return r;
  }

  async #write(
    actor: Actor,
    p: {
      id: string;
      kind: 'rollout' | 'rollback';
      version: string;
      rollbackOf: string | null;
      target: RolloutTarget;
      options: RolloutOptions;
      waves: { name: string; agentIds: string[] }[];
      fleet: FleetAgent[];
    },
  ): Promise<RolloutRecord> {
    const now = this.clock.now();
    const byId = new Map(p.fleet.map((a) => [a.agentId, a]));
    const record: RolloutRecord = {
      id: p.id,
      kind: p.kind,
      version: p.version,
      rollbackOf: p.rollbackOf,
      target: JSON.stringify(p.target),
      options: p.options,
      waves: p.waves.map((w) => w.name),
      state: 'running',
      wave: 0,
      waveStartedAt: null,
      waveDoneAt: null,
      forgiven: 0,
      haltReason: null,
      createdBy: actorRef(actor).name,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    const agents: RolloutAgent[] = p.waves.flatMap((w, wave) =>
      w.agentIds.map((agentId, position) => {
        const a = byId.get(agentId)!;
        return {
          rolloutId: p.id,
          agentId,
          clientId: a.clientId,
          siteId: a.siteId,
          platform: a.platform,
          wave,
          position,
          fromVersion: a.version,
          state: 'pending' as const,
          assignmentId: null,
          notBefore: null,
          assignedAt: null,
          deadlineAt: null,
          finishedAt: null,
          code: null,
          reason: null,
          attempts: 0,
        };
      }),
    );
    await this.store.create(record, agents);
    await this.audit.record({
      type: p.kind === 'rollback' ? 'rollout.rollback' : 'rollout.start',
      code: 'OK',
      result: 'success',
      actor: actorRef(actor),
      clientId: null,
      resource: `rollout:${p.id}`,
      details: {
        version: p.version,
        target: p.target,
        waves: p.waves.map((w) => `${w.name}:${w.agentIds.length}`),
        ...(p.rollbackOf ? { rollbackOf: p.rollbackOf } : {}),
        options: p.options,
      },
    });
    this.logger.info({ rolloutId: p.id, kind: p.kind, version: p.version, agents: agents.length }, 'rollout started');
    return record;
  }
}

export { FINAL_STATES };
