/**
 * The checks runner as an `AgentComponent`: runs the list the collector pushed (`checks.policy`), each on its own
 * interval, and reports results as sequenced `checks.results` through the durable outbox. The list is kept in the
 * state directory so the machine keeps being watched across restarts while the collector is unreachable.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckResult, type CheckSpec, type ChecksPolicy, collectorMessages } from '@outpost/shared';
import type { AgentComponent, AgentContext } from '../runtime/commands.js';
import { runCheck } from './run.js';

const FILE = 'checks.json';
/** Results gathered this long are sent as one message. */
const FLUSH_MS = 250;

/** `OUTPOST_CHECKS_INTERVAL_MS` (tests) replaces every check's interval. */
function intervalOf(spec: CheckSpec): number {
  const v = Number(process.env.OUTPOST_CHECKS_INTERVAL_MS);
  return Number.isFinite(v) && v >= 50 ? v : spec.intervalSec * 1000;
}

/** Runs the pushed checks. */
export class ChecksComponent implements AgentComponent {
  readonly name = 'checks';
  #ctx: AgentContext | undefined;
  #policyId = '';
  #timers: NodeJS.Timeout[] = [];
  #pending: CheckResult[] = [];
  #flush: NodeJS.Timeout | undefined;
  #stopped = false;

  start(ctx: AgentContext): void {
    this.#ctx = ctx;
    const saved = this.#load(ctx);
    if (saved) this.#apply(saved, ctx);
  }

  /** The `checks.policy` handler: replaces the running list (a repeat of the current id changes nothing). */
  policy = (msg: ChecksPolicy): void => {
    const ctx = this.#ctx;
    if (!ctx || msg.id === this.#policyId) return;
    // A list that arrives after its expiry was held up somewhere; a newer one may already be running, and the
    // collector pushes the current list on every connection anyway.
    if (msg.expiresAt < ctx.clock.now()) {
      ctx.logger.warn(
        { policy: msg.id, expiresAt: msg.expiresAt },
        'checks list ignored: it expired before it arrived (or this clock is ahead of the collector)',
      );
      return;
    }
    try {
      const path = join(ctx.config.stateDir, FILE);
      writeFileSync(`${path}.tmp`, JSON.stringify(msg));
      renameSync(`${path}.tmp`, path);
    } catch (err) {
      ctx.logger.warn({ err }, 'checks list not saved; it runs until the agent restarts');
    }
    this.#apply(msg, ctx);
  };

  #load(ctx: AgentContext): ChecksPolicy | undefined {
    let text: string;
    try {
      text = readFileSync(join(ctx.config.stateDir, FILE), 'utf8');
    } catch {
      return undefined; // none pushed yet
    }
    try {
      const msg = collectorMessages.decode(text);
      return msg.type === 'checks.policy' ? msg : undefined;
    } catch (err) {
      ctx.logger.warn({ err }, 'saved checks list is unreadable; waiting for the collector to push one');
      return undefined;
    }
  }

  #apply(msg: ChecksPolicy, ctx: AgentContext): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    this.#policyId = msg.id;
    ctx.logger.info({ policy: msg.id, checks: msg.checks.length }, 'checks list applied');
    msg.checks.forEach((spec, i) => {
      const slot = i;
      let running = false;
      const tick = () => {
        if (this.#stopped || this.#policyId !== msg.id) return;
        if (!running) {
          running = true;
          void runCheck(spec, () => ctx.clock.now())
            .then((r) => this.#push(r, ctx))
            .finally(() => {
              running = false;
            });
        }
        this.#timers[slot] = setTimeout(tick, intervalOf(spec));
        this.#timers[slot].unref?.();
      };
      // Spread the first round so a long list does not fire at once.
      this.#timers[slot] = setTimeout(tick, Math.min(1000, intervalOf(spec)) * Math.random());
      this.#timers[slot].unref?.();
    });
  }

  #push(r: CheckResult, ctx: AgentContext): void {
    this.#pending.push(r);
    if (this.#flush) return;
    this.#flush = setTimeout(() => {
      this.#flush = undefined;
      const results = this.#pending.splice(0, 500);
      if (this.#pending.length) this.#push(this.#pending.shift()!, ctx);
      if (results.length)
        ctx
          .report({ type: 'checks.results', results })
          .catch((err: unknown) => ctx.logger.warn({ err }, 'check results not queued'));
    }, FLUSH_MS);
    this.#flush.unref?.();
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    if (this.#flush) clearTimeout(this.#flush);
  }
}
