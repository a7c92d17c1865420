/**
 * Once-only work (SLA timers, the notification outbox, rollouts' waves, job scheduling, fleet sweeps) runs on one node
 * at a time: the node that holds the work's lease. `LeasedWork` wraps the concern's `Component` and starts it only
 * while its node holds the lease, renews the lease well before it expires, stops the work at once when a renewal
 * fails or finds the lease gone, and — because a renewal may also just be slow — stops it by its own monotonic
 * deadline, before the expiry another node waits for. Other nodes try to take the lease every renewal period, so when
 * the holder dies its work starts elsewhere within the TTL plus one period (docs/0017-nodes.md, "Leases").
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Dialect } from '../db/index.js';
import type { Component } from '../lifecycle.js';
import type { LeaseGrant, LeaseStore } from './store.js';

/** How long a lease lasts without renewal: a dead holder's work moves within this plus one renewal period. */
export const LEASE_TTL_MS = 6_000;

/**
 * The TTL on SQLite: nobody else can take the lease, so failover speed means nothing there, while each renewal is a
 * commit with an fsync (`synchronous=FULL`); 60 s makes it one renewal per lease every 20 s.
 */
export const SINGLE_NODE_LEASE_TTL_MS = 60_000;

/** Timing of a lease: renewed (and contended for) every `renewEveryMs`; the holder stops `marginMs` before expiry. */
export interface LeaseTiming {
  ttlMs: number;
  renewEveryMs: number;
  /** Slack for a late timer and for the two clocks' rates: the holder stops this long before the database expiry. */
  marginMs: number;
}

/** A third of the TTL between renewals (two may fail or be slow before the deadline), a sixth as margin. */
export function leaseTiming(ttlMs = LEASE_TTL_MS): LeaseTiming {
  return { ttlMs, renewEveryMs: Math.floor(ttlMs / 3), marginMs: Math.floor(ttlMs / 6) };
}

/**
 * This node's name in lease rows. SQLite has one collector per file, so a fixed name: a restart (even after a crash)
 * takes its leases back at once, as a single `outpost serve` always started its timers. On PostgreSQL every process is
 * a node of its own; a restarted one waits out its predecessor's leases unless they were released on a clean stop.
 */
export function defaultNodeId(dialect: Dialect): string {
  return dialect === 'sqlite' ? 'local' : `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** What the work may ask while it runs: its epoch, and whether the lease is still surely held by this node. */
export interface LeaseHold {
  readonly grant: LeaseGrant;
  /** False once the lease is lost or its local deadline passed: a pass in progress should stop before its next write. */
  valid(): boolean;
  /**
   * Runs `fn` in one transaction after checking, in the database, that this grant (its epoch) still holds the lease:
   * false, and `fn` not run, when it does not (a paused holder woken after a takeover writes nothing). `fn` must await
   * nothing but the database (docs/0016-postgres.md): effects go after the commit, behind `valid()`.
   */
  fenced(fn: () => Promise<void>): Promise<boolean>;
}

/** A hold on `grant`, valid while `valid` says so, whose writes `store` fences by the grant's epoch. */
export function holdOf(store: LeaseStore, grant: LeaseGrant, valid: () => boolean): LeaseHold {
  return {
    grant,
    valid,
    // Known lost here already: no round trip. Otherwise the database decides (a takeover this node has not seen yet).
    fenced: async (fn) => valid() && (await store.fenced(grant, fn)),
  };
}

/**
 * The work a lease guards: a `Component` whose `start` may take the hold, to check `valid()` before an effect a
 * stale holder must not repeat (the notification outbox does, before each send).
 */
export interface LeasedComponent {
  readonly name: string;
  start?(lease: LeaseHold): void;
  stop(): void | Promise<void>;
}

export interface LeasedWorkInit {
  /** The lease's name, and the component's. */
  name: string;
  work: LeasedComponent;
  store: LeaseStore;
  nodeId: string;
  logger: Logger;
  timing?: LeaseTiming | undefined;
}

/** A `Component` that runs `work` only while this node holds the lease named `name`. */
export class LeasedWork implements Component {
  readonly name: string;
  readonly #work: LeasedComponent;
  readonly #store: LeaseStore;
  readonly #nodeId: string;
  readonly #logger: Logger;
  readonly #timing: LeaseTiming;
  #hold: { grant: LeaseGrant; deadline: number } | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  /** Every acquire, renew, loss and stop runs on this chain, one at a time. */
  #chain: Promise<void> = Promise.resolve();
  #running = false;
  #busy = false;

  constructor(init: LeasedWorkInit) {
    this.name = init.name;
    this.#work = init.work;
    this.#store = init.store;
    this.#nodeId = init.nodeId;
    this.#logger = init.logger.child({ lease: init.name, node: init.nodeId });
    this.#timing = init.timing ?? leaseTiming();
  }

  /** Tries to take the lease now (on SQLite it is free, so the work starts at once), then every renewal period. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#step();
    this.#ticker = setInterval(() => this.#step(), this.#timing.renewEveryMs).unref();
  }

  /** Stops the work if it runs, then releases the lease so another node takes it at once. */
  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    // The work stops here and now, not behind a database call that may hang; the release then waits its turn.
    const hold = this.#hold;
    await this.#lose('stopping');
    if (!hold) return this.#chain;
    await this.#enqueue(async () => {
      await this.#store.release(hold.grant).catch((err: unknown) => {
        this.#logger.warn({ err }, 'lease release failed; it expires by itself');
      });
    });
  }

  /** The current hold, or undefined when this node does not hold the lease (for the work's fencing). */
  hold(): LeaseHold | undefined {
    const h = this.#hold;
    if (!h) return undefined;
    // Valid while this very grant (or its renewals) is held and the deadline of its last renewal has not passed.
    return holdOf(
      this.#store,
      h.grant,
      () => this.#hold?.grant.epoch === h.grant.epoch && performance.now() < (this.#hold?.deadline ?? 0),
    );
  }

  /** True while this node holds the lease and its local deadline has not passed. */
  held(): boolean {
    return this.hold()?.valid() === true;
  }

  #step(): void {
    // A step still waiting for the database is not doubled: the next tick comes soon enough.
    if (this.#busy) return;
    this.#busy = true;
    void this.#enqueue(() => (this.#hold ? this.#renew() : this.#acquire())).finally(() => {
      this.#busy = false;
    });
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(fn).catch((err: unknown) => this.#logger.error({ err }, 'lease step failed'));
    this.#chain = next;
    return next;
  }

  async #acquire(): Promise<void> {
    if (!this.#running) return;
    const sent = performance.now();
    let grant: LeaseGrant | undefined;
    try {
      grant = await this.#store.acquire(this.name, this.#nodeId, this.#timing.ttlMs);
    } catch (err) {
      this.#logger.warn({ err }, 'lease acquisition failed; will retry');
      return;
    }
    if (!grant) return;
    // Stopped while the database answered: give the lease back rather than sit on it until it expires.
    if (!this.#running) {
      await this.#store.release(grant);
      return;
    }
    this.#held(grant, sent);
    this.#logger.info({ epoch: grant.epoch }, 'lease acquired; work starts');
    try {
      const hold = this.hold();
      if (hold) this.#work.start?.(hold);
    } catch (err) {
      this.#logger.error({ err }, 'leased work failed to start');
    }
  }

  async #renew(): Promise<void> {
    const hold = this.#hold;
    if (!hold) return;
    const sent = performance.now();
    let grant: LeaseGrant | undefined;
    try {
      grant = await this.#store.renew(hold.grant, this.#timing.ttlMs);
    } catch (err) {
      // The database may have renewed it and the answer been lost, or not: only stopping now is safe.
      this.#logger.warn({ err }, 'lease renewal failed');
      await this.#lose('renewal failed');
      return;
    }
    if (this.#hold !== hold) return;
    if (!grant) return this.#lose('lease lost (expired or taken over)');
    this.#held(grant, sent);
  }

  /** Records a grant obtained by a request sent at `sent`: the database's expiry is at least `sent + ttl`. */
  #held(grant: LeaseGrant, sent: number): void {
    const deadline = sent + this.#timing.ttlMs - this.#timing.marginMs;
    this.#hold = { grant, deadline };
    clearTimeout(this.#deadlineTimer);
    // Not on the chain: a renewal hanging on the database must not hold the stop back past the deadline.
    this.#deadlineTimer = setTimeout(() => {
      if (this.#hold?.deadline === deadline) void this.#lose('not renewed in time');
    }, deadline - performance.now()).unref();
  }

  /** Stops the work at once; the lease is tried for again at the next step (with a new epoch when taken). */
  async #lose(why: string): Promise<void> {
    const hold = this.#hold;
    if (!hold) return;
    this.#hold = undefined;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    if (why !== 'stopping') this.#logger.warn({ epoch: hold.grant.epoch, why }, 'lease lost; work stops');
    try {
      await this.#work.stop();
    } catch (err) {
      this.#logger.error({ err }, 'leased work failed to stop');
    }
  }
}
