/**
 * The agent's own check of session tickets: signature with the collector key it received at enrollment, binding
 * to this agent and session, freshness, and single use (ticket ids are remembered until they expire, in memory and
 * in `<stateDir>/used-tickets.json`, so a restart of the agent does not make a used ticket good again).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  OutpostError,
  TICKET_MAX_TTL_MS,
  type TicketCapability,
  type TicketClaims,
  verifyTicket,
} from '@outpost/shared';
import type { Logger } from 'pino';

/** Where an agent enrolled before tickets existed keeps the key it trusted first. */
export function sessionKeyFile(stateDir: string): string {
  return join(stateDir, 'collector-session-key');
}

/** Where used ticket ids are kept until they expire (owner-only). */
export function usedTicketsFile(stateDir: string): string {
  return join(stateDir, 'used-tickets.json');
}

/** A used ticket id is forgotten this long after its expiry (the verifier allows 5 s of clock skew). */
const FORGET_AFTER_MS = 10_000;

/** What TicketGuard is built from (one options object, not positional arguments). */
export interface TicketGuardInit {
  agentId: string;
  key: string | undefined;
  now?: () => number;
  usedFile?: string | undefined;
}

/** Verifies tickets and remembers used ones. */
export class TicketGuard {
  readonly #used = new Map<string, number>();
  #key: string | undefined;
  /** Every ticket is refused before this time (the used-ticket file could not be read at start). */
  #refuseUntil = 0;
  /** Why the used-ticket file could not be read, if it could not. */
  loadError: OutpostError | undefined;

  private readonly agentId: string;
  private readonly now: () => number;
  private readonly usedFile: string | undefined;
  /** `usedFile`: where used ticket ids are kept across restarts (none: in memory only, for tests of the checks). */
  constructor(init: TicketGuardInit) {
    const { agentId, key, now = Date.now, usedFile } = init;
    this.agentId = agentId;
    this.now = now;
    this.usedFile = usedFile;
    this.#key = key;
    if (usedFile) this.#loadUsed(usedFile);
  }

  /** The key from the config, else the one stored at first sight (trust on first use for older agents). */
  static load(
    agentId: string,
    configKey: string | undefined,
    stateDir: string,
    now: () => number = Date.now,
  ): TicketGuard {
    const file = sessionKeyFile(stateDir);
    const stored = !configKey && existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
    return new TicketGuard({
      agentId,
      key: configKey ?? (stored || undefined),
      now,
      usedFile: usedTicketsFile(stateDir),
    });
  }

  /**
   * Reads the used ticket ids a previous run kept. A file that cannot be read or parsed (written atomically, so
   * only a damaged disk or a hand edit does that) must not make the tickets used before the restart good again:
   * every ticket is refused until any of them would have expired, and `loadError` says why (the service logs it).
   */
  #loadUsed(file: string): void {
    if (!existsSync(file)) return;
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      for (const [tid, exp] of Object.entries(parsed)) if (typeof exp === 'number') this.#used.set(tid, exp);
      this.#prune(this.now());
    } catch (cause) {
      this.#refuseUntil = this.now() + TICKET_MAX_TTL_MS + FORGET_AFTER_MS;
      this.loadError = new OutpostError('OUTPOST_E_CONFIG_INVALID', {
        cause,
        message: `cannot read the used session tickets in ${file}; refusing every ticket for ${(TICKET_MAX_TTL_MS + FORGET_AFTER_MS) / 1000} s`,
      });
    }
  }

  #prune(now: number): void {
    for (const [tid, exp] of this.#used) if (exp + FORGET_AFTER_MS < now) this.#used.delete(tid);
  }

  /** Writes the used ids (atomically, 0600) before the ticket is honoured; throws if it cannot. */
  #saveUsed(): void {
    if (!this.usedFile) return;
    const tmp = `${this.usedFile}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.#used)), { mode: 0o600 });
      renameSync(tmp, this.usedFile);
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_SESSION_REFUSED', {
        cause,
        message: 'cannot keep the used ticket on disk; refusing it rather than letting it be replayed',
      });
    }
  }

  get key(): string | undefined {
    return this.#key;
  }

  /** Learns the collector key from a welcome when none is known yet; a different key later is ignored and logged. */
  learn(welcomeKey: string | undefined, stateDir: string, logger: Logger): void {
    if (!welcomeKey) return;
    if (!this.#key) {
      this.#key = welcomeKey;
      writeFileSync(sessionKeyFile(stateDir), `${welcomeKey}\n`, { mode: 0o600 });
      logger.info('stored the collector session-ticket key (first sight)');
    } else if (welcomeKey !== this.#key) {
      logger.warn('the collector announced a different session-ticket key; keeping the enrolled one');
    }
  }

  /** Checks a ticket for one session and capability, and marks it used. Throws OUTPOST_E_TICKET_INVALID. */
  admit(ticket: string, sessionId: string, need: TicketCapability): TicketClaims {
    const now = this.now();
    this.#prune(now);
    if (now < this.#refuseUntil)
      throw new OutpostError('OUTPOST_E_TICKET_INVALID', {
        message: 'ticket refused: the used tickets of the previous run are unknown (see the agent log)',
      });
    if (!this.#key)
      throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: 'no collector session key is known yet' });
    const r = verifyTicket(this.#key, ticket, { agentId: this.agentId, sessionId, now });
    if (!r.ok) throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: `ticket refused: ${r.reason}` });
    if (this.#used.has(r.claims.tid))
      throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: 'ticket refused: already used' });
    this.#used.set(r.claims.tid, r.claims.exp);
    this.#saveUsed();
    if (!r.claims.caps.includes(need))
      throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: `ticket refused: no ${need} capability` });
    return r.claims;
  }
}
