/**
 * The users' self-service logic (docs/0014-requests.md, "Self-service"): a sign-in link mailed to a known address,
 * user sessions, and what a signed-in user may see and do on their own tickets — follow them, comment, confirm or
 * refuse a resolution. A user is an e-mail address, never a technician: nothing here reads the auth concern's
 * tokens, and nothing of the fleet is returned beyond the machine's hostname on the user's own ticket. No fastify.
 */
import { createHash, randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Actor } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import type { Incident, IncidentService, TimelineEntry } from '../incidents/index.js';
import { SelfServiceStore } from './self-store.js';
import { WindowLimit } from './window-limit.js';

/** The self-service settings (`requests.selfService`). */
export interface SelfServiceSettings {
  /** The address users reach the API listener at; the mailed link starts with it (never the request's Host). */
  url: string;
  linkTtlMs: number;
  sessionTtlMs: number;
  /** Links asked for per address, and per network address, within 15 minutes. */
  linksPerAddress: number;
  linksPerIp: number;
}

/** What the page needs from the other concerns (wired in core.ts). */
export interface SelfServiceDeps {
  incidents: Pick<IncidentService, 'get' | 'timeline' | 'comment' | 'close' | 'reopen'>;
  /** The machine's hostname, the one thing of the fleet a user sees (on their own ticket). */
  hostname(agentId: string): Promise<string | undefined>;
  /** Mails the link (through the relay the acknowledgements use). */
  sendLink(to: string, url: string, minutes: number): void;
}

/** One entry of the public part of a ticket's timeline. */
export interface PublicEntry {
  at: number;
  /** `you` (the requester), `support` (a technician's comment for the requester) or `status` (a state change). */
  by: 'you' | 'support' | 'status';
  text: string;
}

/** A ticket as its requester sees it. */
export interface UserTicket {
  id: string;
  title: string;
  status: Incident['status'];
  channel: Incident['channel'];
  openedAt: number;
  updatedAt: number;
  resolvedAt: number | null;
  closedAt: number | null;
  machine: string | null;
  resolutionNote: string | null;
  timeline: PublicEntry[];
}

/** Longest comment a user may add (a comment, not a document). */
export const MAX_COMMENT = 4_000;
/** Tickets listed at most (newest first). */
const MAX_TICKETS = 200;
const LIMIT_WINDOW_MS = 15 * 60_000;
const SYSTEM: Actor = { kind: 'system', id: 'system' };
const hash = (token: string) => createHash('sha256').update(token).digest('hex');
const notFound = (id: string) =>
  new OutpostError('OUTPOST_E_NOT_FOUND', {
    message: `No ticket ${id.slice(0, 40)}`,
    details: { ticket: id.slice(0, 40) },
  });
/** Text only: control characters other than tab and newline are dropped (they hide or reorder what a reader sees). */
const plain = (s: string) =>
  s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '');

/** What SelfService is built from (one options object, not positional arguments). */
export interface SelfServiceInit {
  db: SqlDb;
  settings: SelfServiceSettings;
  clock: Clock;
  logger: Logger;
  deps: SelfServiceDeps;
}

/** The self-service page's logic. */
export class SelfService {
  readonly store: SelfServiceStore;
  readonly #perAddress: WindowLimit;
  readonly #perIp: WindowLimit;

  private readonly settings: SelfServiceSettings;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly deps: SelfServiceDeps;
  constructor(init: SelfServiceInit) {
    const { db, settings, clock, logger, deps } = init;
    this.settings = settings;
    this.clock = clock;
    this.logger = logger;
    this.deps = deps;
    this.store = new SelfServiceStore(db);
    this.#perAddress = new WindowLimit(settings.linksPerAddress, LIMIT_WINDOW_MS);
    this.#perIp = new WindowLimit(settings.linksPerIp, LIMIT_WINDOW_MS);
  }

  /**
   * Mails a sign-in link when the address is known; the caller answers the same whether it was or not (no account
   * enumeration). The limits count every ask, known or not, so they reveal nothing either.
   */
  async askLink(rawEmail: string, ip: string): Promise<void> {
    const email = rawEmail.trim().toLowerCase();
    const now = this.clock.now();
    for (const [limit, key] of [
      [this.#perIp, ip],
      [this.#perAddress, email],
    ] as const) {
      const wait = limit.take(key, now);
      if (wait > 0) {
        this.logger.info({ ip, why: limit === this.#perIp ? 'ip' : 'address' }, 'self-service link throttled');
        throw new OutpostError('OUTPOST_E_SELF_THROTTLED', { details: { retryAfterSec: Math.ceil(wait / 1000) } });
      }
    }
    await this.store.sweep(now);
    if (!(await this.store.knows(email))) {
      this.logger.info({ ip }, 'self-service link asked for an unknown address (nothing sent)');
      return;
    }
    const token = randomBytes(32).toString('base64url');
    await this.store.addLink(hash(token), email, now, now + this.settings.linkTtlMs);
    const url = new URL(
      `help/link?t=${token}`,
      this.settings.url.endsWith('/') ? this.settings.url : `${this.settings.url}/`,
    );
    this.deps.sendLink(email, url.href, this.linkMinutes);
    this.logger.info({ ip }, 'self-service link sent');
  }

  /** Spends a link: a new session token (the cookie's value), or OUTPOST_E_SELF_LINK_INVALID. */
  async signIn(linkToken: string): Promise<{ token: string; expiresAt: number }> {
    const now = this.clock.now();
    const email = await this.store.takeLink(hash(linkToken), now);
    if (!email) throw new OutpostError('OUTPOST_E_SELF_LINK_INVALID');
    const token = randomBytes(32).toString('base64url');
    const expiresAt = now + this.settings.sessionTtlMs;
    await this.store.addSession(hash(token), email, now, expiresAt);
    this.logger.info({ user: email.replace(/^[^@]*/, '…') }, 'self-service sign-in');
    return { token, expiresAt };
  }

  /** How long a link is valid, as the mail and the page say it. */
  get linkMinutes(): number {
    return Math.round(this.settings.linkTtlMs / 60_000);
  }

  /** The address a session token belongs to, or undefined (unknown, ended or expired). */
  user(sessionToken: string): Promise<string | undefined> {
    return this.store.session(hash(sessionToken), this.clock.now());
  }

  /** Ends the session server-side: the cookie's value is worth nothing afterwards. */
  signOut(sessionToken: string): Promise<void> {
    return this.store.endSession(hash(sessionToken));
  }

  /** The user's tickets, newest first, without their timelines. */
  async tickets(email: string): Promise<UserTicket[]> {
    const ids = await this.store.ticketsOf(email, MAX_TICKETS);
    const out: UserTicket[] = [];
    for (const id of ids) {
      const inc = await this.deps.incidents.get(id);
      if (inc) out.push(await this.#view(inc, []));
    }
    return out;
  }

  /** One of the user's tickets with its public timeline; another's answers exactly like an unknown one. */
  async ticket(email: string, id: string): Promise<UserTicket> {
    const inc = await this.#own(email, id);
    return this.#view(inc, await this.deps.incidents.timeline(id));
  }

  /** A comment by the requester on their ticket (text only, bounded). */
  async comment(email: string, id: string, raw: string): Promise<void> {
    const text = plain(raw).trim();
    if (!text)
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: 'The comment is empty', details: { field: 'text' } });
    if (text.length > MAX_COMMENT)
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: `The comment is longer than ${MAX_COMMENT} characters`,
        details: { field: 'text' },
      });
    await this.#own(email, id);
    await this.deps.incidents.comment(SYSTEM, id, text, { public: true, requester: email });
  }

  /**
   * The requester's answer to a resolution: fixed closes the ticket (their confirmation on the timeline first),
   * still broken reopens it (within the incidents' reopen window; past it, the ticket says to write again).
   */
  async confirm(email: string, id: string, fixed: boolean): Promise<void> {
    const inc = await this.#own(email, id);
    if (inc.status !== 'resolved')
      throw new OutpostError('OUTPOST_E_TRANSITION_INVALID', {
        message: `Ticket ${id} is ${inc.status}: only a resolved ticket can be confirmed`,
        details: { status: inc.status },
      });
    if (fixed) {
      await this.deps.incidents.comment(SYSTEM, id, 'Confirmed fixed.', { public: true, requester: email });
      await this.deps.incidents.close(SYSTEM, id);
    } else {
      await this.deps.incidents.reopen(SYSTEM, id, `The requester (${email}) says it is still broken`);
      await this.deps.incidents.comment(SYSTEM, id, 'Still broken.', { public: true, requester: email });
    }
  }

  async #own(email: string, id: string): Promise<Incident> {
    // The user's own tickets are looked up by address; anything else is "not found", as an unknown id.
    const mine = await this.store.ticketsOf(email, MAX_TICKETS);
    const inc = mine.includes(id) ? await this.deps.incidents.get(id) : undefined;
    if (!inc) throw notFound(id);
    return inc;
  }

  async #view(inc: Incident, timeline: TimelineEntry[]): Promise<UserTicket> {
    const agentId = inc.agentIds[0];
    return {
      id: inc.id,
      title: inc.title,
      status: inc.status,
      channel: inc.channel,
      openedAt: inc.detectedAt,
      updatedAt: inc.updatedAt,
      resolvedAt: inc.resolvedAt,
      closedAt: inc.closedAt,
      machine: agentId ? ((await this.deps.hostname(agentId)) ?? null) : null,
      resolutionNote: inc.resolutionNote,
      timeline: publicTimeline(timeline),
    };
  }
}

/**
 * The part of a timeline a requester sees: state changes, the comments for them (theirs and the technicians'
 * marked public) and the resolution note. Internal comments, assignments, escalations, SLA events, sessions,
 * notifications and triage stay with the technicians.
 */
export function publicTimeline(entries: TimelineEntry[]): PublicEntry[] {
  const out: PublicEntry[] = [];
  for (const e of entries) {
    const d = e.data;
    const text = typeof d.text === 'string' ? d.text : '';
    switch (e.kind) {
      case 'opened':
        out.push({ at: e.at, by: 'status', text: 'Ticket opened' });
        break;
      case 'acknowledged':
        out.push({ at: e.at, by: 'status', text: 'A technician is on it' });
        break;
      case 'comment':
        if (typeof d.requester === 'string') out.push({ at: e.at, by: 'you', text });
        else if (d.public === true) out.push({ at: e.at, by: 'support', text });
        break;
      case 'resolved':
        out.push({
          at: e.at,
          by: 'status',
          text: `Resolved${typeof d.note === 'string' && d.note ? `: ${d.note}` : ''}`,
        });
        break;
      case 'closed':
        out.push({ at: e.at, by: 'status', text: 'Closed' });
        break;
      case 'reopened':
        out.push({ at: e.at, by: 'status', text: 'Reopened' });
        break;
      default:
        break;
    }
  }
  return out;
}
