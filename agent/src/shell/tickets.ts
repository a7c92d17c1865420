/**
 * The agent's own check of session tickets: signature with the collector key it received at enrollment, binding
 * to this agent and session, freshness, and single use (ticket ids are remembered until they expire).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError, type TicketCapability, type TicketClaims, verifyTicket } from '@outpost/shared';
import type { Logger } from 'pino';

/** Where an agent enrolled before tickets existed keeps the key it trusted first. */
export function sessionKeyFile(stateDir: string): string {
  return join(stateDir, 'collector-session-key');
}

/** Verifies tickets and remembers used ones. */
export class TicketGuard {
  readonly #used = new Map<string, number>();
  #key: string | undefined;

  constructor(
    private readonly agentId: string,
    key: string | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.#key = key;
  }

  /** The key from the config, else the one stored at first sight (trust on first use for older agents). */
  static load(agentId: string, configKey: string | undefined, stateDir: string): TicketGuard {
    const file = sessionKeyFile(stateDir);
    const stored = !configKey && existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
    return new TicketGuard(agentId, configKey ?? (stored || undefined));
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
    for (const [tid, exp] of this.#used) if (exp + 10_000 < now) this.#used.delete(tid);
    if (!this.#key)
      throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: 'no collector session key is known yet' });
    const r = verifyTicket(this.#key, ticket, { agentId: this.agentId, sessionId, now });
    if (!r.ok) throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: `ticket refused: ${r.reason}` });
    if (this.#used.has(r.claims.tid))
      throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: 'ticket refused: already used' });
    this.#used.set(r.claims.tid, r.claims.exp);
    if (!r.claims.caps.includes(need))
      throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: `ticket refused: no ${need} capability` });
    return r.claims;
  }
}
