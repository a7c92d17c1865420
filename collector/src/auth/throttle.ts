/**
 * Throttling of secret guessing (passwords, TOTP codes): failures are counted per source address and per account,
 * each with its own policy; past a few free failures every further one blocks the key for a delay that doubles, up
 * to a cap. Counters live in a table (they survive a restart) and are forgotten after a quiet hour.
 *
 * The account limit is softer than the source limit (more free failures, a lower cap), so an attacker guessing one
 * account from many addresses slows down without locking the real user out for more than a minute; a success
 * clears the counters of the source it came from and of the account.
 */
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../config.js';
import type { AuthStore } from './store.js';

/** How one kind of key is throttled. */
export interface ThrottlePolicy {
  /** Failures allowed before any delay. */
  free: number;
  /** Delay after the first failure past the free ones; doubles with each further failure. */
  baseMs: number;
  /** Longest delay. */
  maxMs: number;
  /** A counter whose last failure is older than this starts over. */
  forgetAfterMs: number;
}

/** Per source address: 5 free failures, then 1 s, 2 s, 4 s … up to 5 minutes. */
export const SOURCE_POLICY: ThrottlePolicy = { free: 5, baseMs: 1_000, maxMs: 300_000, forgetAfterMs: 3_600_000 };
/** Per account (from any source): 10 free failures, then 1 s, 2 s … up to 1 minute. */
export const ACCOUNT_POLICY: ThrottlePolicy = { free: 10, baseMs: 1_000, maxMs: 60_000, forgetAfterMs: 3_600_000 };

/** The delay a key gets after its `failures`-th failure. */
export function throttleDelayMs(policy: ThrottlePolicy, failures: number): number {
  if (failures <= policy.free) return 0;
  // 2^30 s is far past any cap: the exponent is bounded so the arithmetic stays exact.
  return Math.min(policy.baseMs * 2 ** Math.min(failures - policy.free - 1, 30), policy.maxMs);
}

/**
 * The source an address counts as: an IPv4 address itself (IPv4-mapped IPv6 included), an IPv6 address by its /64
 * (one host usually holds a whole /64 and could otherwise take a fresh address per guess).
 */
export function sourceOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail] = ip.split('%')[0]!.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The keys one attempt is counted under. */
export interface ThrottleKeys {
  source: string;
  account: string;
}

/** What LoginThrottle is built from (one options object, not positional arguments). */
export interface LoginThrottleInit {
  store: AuthStore;
  clock: Clock;
  audit: AuditLog;
  logger: Logger;
  policies?: { source: ThrottlePolicy; account: ThrottlePolicy };
}

/** Counts failures and says how long a source or an account must wait. */
export class LoginThrottle {
  #lastPrune = 0;
  /** Attempts being checked now, per key (in memory: a burst is a matter of milliseconds). */
  readonly #inFlight = new Map<string, number>();
  private readonly store: AuthStore;
  private readonly clock: Clock;
  private readonly audit: AuditLog;
  private readonly logger: Logger;
  private readonly policies: { source: ThrottlePolicy; account: ThrottlePolicy };
  constructor(init: LoginThrottleInit) {
    const {
      store,
      clock,
      audit,
      logger,
      policies = {
        source: SOURCE_POLICY,
        account: ACCOUNT_POLICY,
      },
    } = init;
    this.store = store;
    this.clock = clock;
    this.audit = audit;
    this.logger = logger;
    this.policies = policies;
  }

  /** The keys of an attempt: the source address and the account's e-mail, case-folded as the users table does. */
  static keys(remoteIp: string, email: string): ThrottleKeys {
    return { source: `source:${sourceOf(remoteIp)}`, account: `account:${email.toLowerCase()}` };
  }

  /** Milliseconds the attempt must wait (0: go ahead), and which key blocks it. */
  async blocked(keys: ThrottleKeys): Promise<{ waitMs: number; key: 'source' | 'account' | null }> {
    const now = this.clock.now();
    let waitMs = 0;
    let key: 'source' | 'account' | null = null;
    for (const k of ['source', 'account'] as const) {
      const r = await this.store.throttle(keys[k]);
      if (r && r.blockedUntil - now > waitMs) {
        waitMs = r.blockedUntil - now;
        key = k;
      }
    }
    return { waitMs, key };
  }

  /**
   * Admits an attempt, or refuses it (429, audited) while its source or account is still waiting after failures,
   * or while so many attempts of the same key are being checked that they could, together, pass the free failures
   * (a burst of concurrent guesses must not all be checked before the first failure is counted). Call the returned
   * function when the attempt has been counted (failed or succeeded).
   */
  async enforce(
    keys: ThrottleKeys,
    type: string,
    actor: { kind: string; id: string | null; name: string },
    remoteIp: string,
  ): Promise<() => void> {
    let { waitMs, key } = await this.blocked(keys);
    if (waitMs <= 0) {
      const now = this.clock.now();
      for (const k of ['source', 'account'] as const) {
        const inFlight = this.#inFlight.get(keys[k]) ?? 0;
        if (inFlight === 0) continue;
        const r = await this.store.throttle(keys[k]);
        const failures = r && now - r.lastFailureAt <= this.policies[k].forgetAfterMs ? r.failures : 0;
        if (failures + inFlight >= this.policies[k].free) {
          waitMs = 1000;
          key = k;
          break;
        }
      }
    }
    if (waitMs > 0) {
      const retryAfterSec = Math.ceil(waitMs / 1000);
      await this.audit.record({
        type,
        code: 'OUTPOST_E_LOGIN_THROTTLED',
        result: 'denied',
        actor,
        remoteIp,
        details: { by: key, retryAfterSec },
      });
      this.logger.warn({ type, by: key, remoteIp, account: actor.name, retryAfterSec }, 'attempt throttled');
      throw new OutpostError('OUTPOST_E_LOGIN_THROTTLED', {
        message: `Too many failed attempts ${key === 'source' ? 'from this address' : 'on this account'}: retry in ${retryAfterSec} s`,
        details: { retryAfterSec },
      });
    }
    for (const k of [keys.source, keys.account]) this.#inFlight.set(k, (this.#inFlight.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of [keys.source, keys.account]) {
        const n = (this.#inFlight.get(k) ?? 1) - 1;
        if (n > 0) this.#inFlight.set(k, n);
        else this.#inFlight.delete(k);
      }
    };
  }

  /** Counts a failure under both keys. */
  async failed(keys: ThrottleKeys): Promise<void> {
    const now = this.clock.now();
    for (const k of ['source', 'account'] as const) {
      const policy = this.policies[k];
      // Counted in the database in one statement: racing failures (several nodes) each add one.
      const failures = await this.store.addFailure(keys[k], now, now - policy.forgetAfterMs);
      const delay = throttleDelayMs(policy, failures);
      if (delay > 0) await this.store.blockUntil(keys[k], now + delay);
    }
    // Counters for made-up e-mails would otherwise pile up: drop the stale ones now and then.
    if (now - this.#lastPrune > 600_000) {
      this.#lastPrune = now;
      await this.store.pruneThrottle(
        now - Math.max(this.policies.source.forgetAfterMs, this.policies.account.forgetAfterMs),
      );
    }
  }

  /** A success: the source and the account start over. */
  async succeeded(keys: ThrottleKeys): Promise<void> {
    await this.store.clearThrottle(keys.source);
    await this.store.clearThrottle(keys.account);
  }
}
