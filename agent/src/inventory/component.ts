/**
 * The inventory scheduler (an AgentComponent): at start it runs every probe once and reports what differs from the
 * last reported state (everything, the first time); then each probe runs on its own jittered interval and reports
 * only its changes. `inventory.request` forces full snapshots. Runs are serialised so the state never interleaves.
 */
import { randomBytes } from 'node:crypto';
import { type InventoryRequest, OutpostError, type ProbeName } from '@outpost/shared';
import type { AgentComponent, AgentContext } from '../runtime/commands.js';
import { systemClock } from '../time.js';
import { nextState, type PlannedSet, packSets, planSet } from './diff.js';
import { systemProbeContext } from './exec.js';
import type { InventoryOptions, ProbeContext } from './probe.js';
import { probesFor, type RunnableProbe } from './registry.js';
import { runProbes } from './runner.js';
import { inventorySettings } from './settings.js';
import { type InventoryStateFile, loadInventoryState, saveInventoryState } from './state.js';

/** The component's checked options (all defaulted). */
export interface InventoryComponentOptions {
  probes: RunnableProbe[];
  /** The probes' context; default: the system's, caching in the agent's state directory. */
  probeContext: ProbeContext | undefined;
  inventory: Partial<InventoryOptions>;
  /** Delay before the first run after start. */
  initialDelayMs: number;
  /** Multiplies every probe's interval (tests shorten it). */
  intervalScale: number;
  random: () => number;
  /** Where OUTPOST_INVENTORY and OUTPOST_INVENTORY_INTERVAL_MS are read (tests pass their own). */
  env: NodeJS.ProcessEnv;
}

/** Defaults for the component's options. */
export function inventoryComponentOptions(
  o: Partial<InventoryComponentOptions> & { inventory?: Partial<InventoryOptions> } = {},
): InventoryComponentOptions {
  return {
    probes: o.probes ?? probesFor(),
    probeContext: o.probeContext,
    inventory: o.inventory ?? {},
    initialDelayMs: o.initialDelayMs ?? 1000,
    intervalScale: o.intervalScale ?? 1,
    random: o.random ?? Math.random,
    env: o.env ?? process.env,
  };
}

/** What one run reported (for logs and tests). */
export interface RunSummary {
  reason: 'initial' | 'request' | 'scheduled';
  probes: number;
  sets: number;
  messages: number;
  bytes: number;
}

/** The inventory AgentComponent. */
export class InventoryComponent implements AgentComponent {
  readonly name = 'inventory';
  readonly #o: InventoryComponentOptions;
  #ctx: AgentContext | undefined;
  #state: InventoryStateFile | undefined;
  #timers: NodeJS.Timeout[] = [];
  #chain: Promise<unknown> = Promise.resolve();
  #seenRequests = new Map<string, number>();
  #probeContext: ProbeContext | undefined;
  #stopped = false;
  #disabled = false;
  /** Every probe's base interval when configured; undefined: each probe's own. */
  #intervalMs: number | undefined;

  constructor(options: Partial<InventoryComponentOptions> = {}) {
    this.#o = inventoryComponentOptions(options);
  }

  start(ctx: AgentContext): void {
    this.#ctx = ctx;
    const settings = inventorySettings(ctx.config, this.#o.env);
    for (const e of settings.ignored) ctx.logger.warn({ code: e.code }, e.message);
    if (!settings.enabled) {
      this.#disabled = true;
      ctx.logger.info('inventory disabled by configuration');
      return;
    }
    this.#intervalMs = settings.intervalMs;
    this.#probeContext =
      this.#o.probeContext ??
      systemProbeContext({
        cacheDir: ctx.config.stateDir,
        // The same apt view as jobs (config `packages`), so a patch job's result shows in the next report.
        ...(ctx.config.packages?.aptOptions ? { aptOptions: ctx.config.packages.aptOptions } : {}),
        ...(ctx.config.packages?.rootDir ? { rootDir: ctx.config.packages.rootDir } : {}),
        ...this.#o.inventory,
      });
    this.#state = loadInventoryState(ctx.config.stateDir, ctx.config.agentId, ctx.logger);
    const initial = Object.keys(this.#state.probes).length === 0 ? 'initial' : 'scheduled';
    this.#later(this.#o.initialDelayMs, () => {
      void this.run(this.#o.probes, initial === 'initial', initial).then(() => {
        for (const p of this.#o.probes) this.#schedule(p);
      });
    });
  }

  #later(ms: number, fn: () => void): void {
    if (this.#stopped) return;
    const t = setTimeout(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  #schedule(p: RunnableProbe): void {
    // ±20 % jitter so a fleet started together does not report together.
    const base = (this.#intervalMs ?? p.probe.intervalMs) * this.#o.intervalScale;
    const delay = Math.max(50, Math.round(base * (0.8 + 0.4 * this.#o.random())));
    this.#later(delay, () => {
      void this.run([p], false, 'scheduled').then(() => this.#schedule(p));
    });
  }

  /** Handles `inventory.request`: full snapshots of the named probes (all when none), once per request id. */
  async request(msg: InventoryRequest): Promise<RunSummary | undefined> {
    const now = (this.#ctx?.clock ?? systemClock).now();
    if (msg.expiresAt < now || this.#seenRequests.has(msg.id)) return undefined;
    this.#seenRequests.set(msg.id, msg.expiresAt);
    for (const [id, exp] of this.#seenRequests) if (exp < now) this.#seenRequests.delete(id);
    const wanted = new Set<ProbeName>(msg.probes);
    const probes = wanted.size ? this.#o.probes.filter((p) => wanted.has(p.probe.name)) : this.#o.probes;
    if (this.#disabled) {
      await this.#answerDisabled(msg.id, probes, now);
      return undefined;
    }
    return this.run(probes, true, 'request');
  }

  /**
   * A technician's refresh of an agent whose inventory is switched off gets an answer, not silence: each requested
   * probe reports OUTPOST_E_INVENTORY_DISABLED, which the collector shows against the device (its rows stay).
   */
  async #answerDisabled(requestId: string, probes: RunnableProbe[], now: number): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx) return;
    const e = new OutpostError('OUTPOST_E_INVENTORY_DISABLED');
    ctx.logger.info(
      { request: requestId, code: e.code },
      'inventory request answered: inventory disabled by configuration',
    );
    const sets = probes.map((p) => ({
      probe: p.probe.name,
      mode: 'error' as const,
      setId: randomBytes(9).toString('base64url'),
      part: 1,
      parts: 1,
      collectedAt: now,
      hash: '',
      code: e.code,
      message: e.message,
    }));
    if (sets.length > 0) await ctx.report({ type: 'inventory.report', time: now, reason: 'request', sets });
  }

  /** Runs probes and reports their changes (serialised with every other run). */
  run(probes: RunnableProbe[], full: boolean, reason: RunSummary['reason']): Promise<RunSummary | undefined> {
    const next = this.#chain.then(() => this.#run(probes, full, reason));
    this.#chain = next.catch(() => undefined);
    return next.catch((err: unknown) => {
      this.#ctx?.logger.error({ err, reason }, 'inventory run failed');
      return undefined;
    });
  }

  async #run(probes: RunnableProbe[], full: boolean, reason: RunSummary['reason']): Promise<RunSummary | undefined> {
    const ctx = this.#ctx;
    const state = this.#state;
    const probeContext = this.#probeContext;
    if (!ctx || !state || !probeContext || this.#stopped) return undefined;
    const results = await runProbes(probes, probeContext);
    const planned: PlannedSet[] = [];
    for (const r of results) {
      if (!r.ok) ctx.logger.warn({ probe: r.probe, code: r.code, error: r.message }, 'inventory probe failed');
      const set = planSet(r, state.probes[r.probe], full);
      if (set) planned.push(set);
    }
    const messages = packSets(planned, () => randomBytes(9).toString('base64url'));
    let bytes = 0;
    for (const sets of messages) {
      const body = { type: 'inventory.report' as const, time: ctx.clock.now(), reason, sets };
      bytes += Buffer.byteLength(JSON.stringify(body));
      await ctx.report(body);
    }
    // Only now is the change durably queued: remember it as what the collector will have.
    for (const r of results) state.probes[r.probe] = nextState(r, state.probes[r.probe]);
    saveInventoryState(ctx.config.stateDir, state);
    const summary = { reason, probes: probes.length, sets: planned.length, messages: messages.length, bytes };
    ctx.logger.info({ inventory: summary }, 'inventory run');
    return summary;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    await this.#chain;
  }
}
