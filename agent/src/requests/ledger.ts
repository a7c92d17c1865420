/**
 * The agent's record of the requests filed from this machine: which user filed which reference, and the ticket it
 * became. It is what lets `request --status` show a user their own tickets and nobody else's.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One request filed here. */
export interface LedgerEntry {
  ref: string;
  uid: number;
  user: string;
  at: number;
  ticket: string | null;
}

/** Entries kept (the oldest go first): years of a busy workstation's requests. */
const MAX_ENTRIES = 1000;

/** The ledger file under the state directory (written whole, atomically: it is small). */
export class RequestLedger {
  readonly #file: string;
  #entries: LedgerEntry[];

  constructor(stateDir: string) {
    this.#file = join(stateDir, 'requests.json');
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.#file, 'utf8'));
      this.#entries = Array.isArray(parsed) ? (parsed as LedgerEntry[]) : [];
    } catch {
      // No ledger yet (or a torn one from a crash mid-rename, which rename makes impossible): start empty.
      this.#entries = [];
    }
  }

  add(e: LedgerEntry): void {
    this.#entries.push(e);
    if (this.#entries.length > MAX_ENTRIES) this.#entries.splice(0, this.#entries.length - MAX_ENTRIES);
    this.#save();
  }

  /** Records the ticket a reference became. */
  setTicket(ref: string, ticket: string): void {
    const e = this.#entries.find((x) => x.ref === ref);
    if (!e || e.ticket === ticket) return;
    e.ticket = ticket;
    this.#save();
  }

  /** The entry of `uid` named by its reference or its ticket number (another user's answers as unknown). */
  find(uid: number, refOrTicket: string): LedgerEntry | undefined {
    return this.#entries.find((e) => e.uid === uid && (e.ref === refOrTicket || e.ticket === refOrTicket));
  }

  #save(): void {
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#entries), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}
