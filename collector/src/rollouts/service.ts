/**
 * The rollouts logic (docs/0011-releases.md, "Rollouts"), no fastify: plans a rollout of a signed release over a
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
import type { SqlDb } from '../db/index.js';
import type { Fence } from '../leases/index.js';
import { RolloutDriver } from './driver.js';
import { BAD_STATES, IN_FLIGHT } from './halt.js';
import { planWaves } from './plan.js';
import {
  addCount,
  emptyCounts,
  type FleetAgent,
  type RolloutsDeps,
  type RolloutsOptions,
  type WaveCounts,
} from './ports.js';
import type { RolloutInput, RolloutTarget } from './schemas.js';
import {
  type RolloutAgent,
  type RolloutOptions,
  type RolloutRecord,
  type RolloutState,
  RolloutsStore,
  TERMINAL,
} from './store.js';

const DEFAULTS = {
  canary: 5,
  percents: [5, 25, 100],
  bakeSec: 3600,
  deadlineSec: 900,
  maxConcurrent: 10,
  jitterSec: 600,
  haltAfter: 1,
} as const;

/** What Rollouts is built from (one options object, not positional arguments). */
export interface RolloutsInit {
  db: SqlDb;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  deps: RolloutsDeps;
  options?: RolloutsOptions;
}

/** The rollouts service. */
export class Rollouts {
  readonly store: RolloutsStore;
  readonly #driver: RolloutDriver;

  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly deps: RolloutsDeps;
  private readonly options: RolloutsOptions;
  constructor(init: RolloutsInit) {
    const { db, audit, clock, logger, deps, options = { tickMs: 1000 } } = init;
    this.audit = audit;
    this.clock = clock;
    this.logger = logger;
    this.deps = deps;
    this.options = options;
    this.store = new RolloutsStore(db);
    this.#driver = new RolloutDriver({ store: this.store, audit, clock, logger, deps, options });
  }

  /** One pass of the driver (the timer calls it; tests call it with a fake clock), fenced by `lease` if given. */
  tick(lease?: Fence): Promise<void> {
    return this.#driver.tick(lease);
  }

  /** Starts the driver's timer; under the `rollouts` lease, its passes are fenced by it. */
  start(lease?: Fence): void {
    this.#driver.start(lease);
  }

  stop(): void {
    this.#driver.stop();
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
    if (fleet.length === 0)
      throw new OutpostError(
        'OUTPOST_E_ROLLOUT_NO_TARGETS',
        input.target.tag !== undefined
          ? {
              message: `No enrolled machine in the target has tag "${input.target.tag}"`,
              details: { tag: input.target.tag },
            }
          : {},
      );
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
    const ring = [...(input.ring ?? [])];
    if (input.ringTag !== undefined) {
      const tagged = fleet.filter((a) => a.tags.includes(input.ringTag!)).map((a) => a.agentId);
      // Asked for a test ring and found none: going straight to the canaries is not what was asked.
      if (tagged.length === 0)
        throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
          message: `No targeted machine has tag "${input.ringTag}": the test ring would be empty`,
          details: { field: 'ringTag', tag: input.ringTag },
        });
      ring.push(...tagged);
    }
    const id = `ro_${randomBytes(12).toString('hex')}`;
    const waves = planWaves({
      rolloutId: id,
      agentIds: fleet.map((a) => a.agentId),
      ring,
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
