/**
 * The built-in SMTP receiver for the helpdesk address (docs/0014-requests.md, "E-mail"): the MX, or a forwarding
 * rule, delivers the helpdesk's mail here. A new message becomes a ticket; a reply (the ticket number `[in_…]` in the
 * subject, or `In-Reply-To`/`References` naming the message that opened it) becomes a comment on the same ticket; the
 * sender's domain names the client. Mail loops and auto-replies are accepted and dropped (answering them is how loops
 * start); a message over the size limit is refused during DATA without being kept in memory; attachments are stored
 * with limits. SMTP rather than IMAP: no mailbox password in the collector, mail at once, and the limit refuses a
 * 50 MB message before it is read.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { simpleParser } from 'mailparser';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import type { Actor } from '../auth/index.js';
import type { Incident, IncidentService } from '../incidents/index.js';
import { MAX_TEXT, type Requests } from './service.js';

/** The receiver's settings (`requests.email` in the collector configuration). */
export interface EmailSettings {
  host: string;
  port: number;
  /** Largest message accepted (advertised with SIZE, enforced while reading DATA). */
  maxMessageBytes: number;
  /** The domain of the collector's own Message-IDs: a message carrying one is our own mail coming back. */
  messageIdDomain: string;
  attachments: { maxCount: number; maxBytes: number };
}

/** What the receiver needs. */
export interface EmailDeps {
  requests: Requests;
  incidents: Pick<IncidentService, 'get' | 'comment'>;
  /** The client a sender domain (lower case) belongs to, from the configuration. */
  clientOfDomain(domain: string): string | undefined;
  /** Sends the acknowledgement with the ticket number (absent: no relay configured). */
  acknowledge?(incident: Incident, to: string, inReplyTo?: string): void;
  /** Where attachments are stored (`<dataDir>/request-attachments`). */
  attachmentsDir: string;
  logger: Logger;
}

const SYSTEM: Actor = { kind: 'system', id: 'system' };
const TICKET_IN_SUBJECT = /\[(in_[0-9a-f]{12})\]/;

/** An SMTP error answer (smtp-server sends `responseCode` and the message). */
const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

/** Why a message is an automatic one we must not answer, or undefined for a person's mail. */
export function automatic(headers: Map<string, unknown>, messageIdDomain: string): string | undefined {
  const h = (k: string) => {
    const v = headers.get(k);
    return typeof v === 'string'
      ? v.toLowerCase()
      : v && typeof v === 'object' && 'value' in v
        ? String((v as { value: unknown }).value).toLowerCase()
        : '';
  };
  const auto = h('auto-submitted');
  if (auto && auto !== 'no') return `Auto-Submitted: ${auto}`;
  const precedence = h('precedence');
  if (/^(bulk|junk|list|auto_reply)$/.test(precedence)) return `Precedence: ${precedence}`;
  if (h('x-autoreply') || h('x-autorespond')) return 'X-Autoreply';
  if (h('x-outpost-loop')) return 'X-Outpost-Loop';
  if (h('message-id').endsWith(`@${messageIdDomain.toLowerCase()}>`)) return 'our own Message-ID';
  return undefined;
}

/** A file name safe to write: no path, no control characters, bounded. */
const safeName = (name: string) =>
  name
    .replace(/[^A-Za-z0-9._ -]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 100) || 'attachment';

/** The SMTP receiver: `start()` listens, `stop()` closes. */
export class EmailReceiver {
  readonly #server: SMTPServer;
  #address: AddressInfo | undefined;
  /** Resolves once listening (tests read the port from `address()`). */
  readonly ready: Promise<void>;
  #listening!: () => void;

  constructor(
    private readonly settings: EmailSettings,
    private readonly deps: EmailDeps,
  ) {
    this.ready = new Promise((r) => {
      this.#listening = r;
    });
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      size: settings.maxMessageBytes,
      banner: 'Outpost helpdesk',
      logger: false,
      onRcptTo: (_addr, _session, cb) => cb(),
      onData: (stream, _session, cb) => {
        this.#receive(stream).then(
          () => cb(),
          (err: Error & { responseCode?: number }) => cb(err.responseCode ? err : smtpError(451, 'Temporary failure')),
        );
      },
    });
    this.#server.on('error', (err) => deps.logger.error({ err }, 'smtp receiver error'));
  }

  start(): void {
    this.#server.listen(this.settings.port, this.settings.host, () => {
      this.#address = this.#server.server.address() as AddressInfo;
      this.deps.logger.info({ port: this.#address.port, host: this.settings.host }, 'smtp receiver listening');
      this.#listening();
    });
  }

  address(): AddressInfo | undefined {
    return this.#address;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.#server.close(() => r()));
  }

  /** Reads the message (never past the limit), then files it. */
  async #receive(stream: SMTPServerDataStream): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Past the limit the rest is drained, not kept.
      if (size <= this.settings.maxMessageBytes) chunks.push(chunk);
    }
    if (stream.sizeExceeded || size > this.settings.maxMessageBytes)
      throw smtpError(552, `Message exceeds the ${this.settings.maxMessageBytes}-byte limit`);
    let mail: Awaited<ReturnType<typeof simpleParser>>;
    try {
      mail = await simpleParser(Buffer.concat(chunks), { skipHtmlToText: false, maxHtmlLengthToParse: 1_000_000 });
    } catch (err) {
      this.deps.logger.warn({ err }, 'malformed mail refused');
      throw smtpError(554, 'Malformed message');
    }
    const log = this.deps.logger.child({ messageId: mail.messageId?.slice(0, 200) });
    const why = automatic(mail.headers, this.settings.messageIdDomain);
    if (why) {
      log.info({ why }, 'automatic mail dropped (no ticket, no answer)');
      return;
    }
    const from = mail.from?.value[0];
    const address = from?.address?.toLowerCase();
    const domain = address?.split('@')[1];
    const clientId = domain ? this.deps.clientOfDomain(domain) : undefined;
    if (!address || !clientId) throw smtpError(550, 'No client is served for this sender domain');
    const subject = (mail.subject ?? '').slice(0, 500);
    let body = (mail.text ?? '').trim();
    const thread = await this.#thread(mail.inReplyTo, mail.references, subject, clientId);
    const files = this.#keep(mail.attachments);
    if (thread) {
      const text = `${from?.name || address} wrote by e-mail:\n${body}`.slice(0, MAX_TEXT);
      // The requester wrote it: it shows on their self-service page as theirs.
      await this.deps.incidents.comment(SYSTEM, thread.id, text, { public: true, requester: address });
      if (files.length) this.#store(thread.id, files, mail.attachments.length);
      log.info({ incidentId: thread.id, clientId }, 'mail reply added to its ticket');
      return;
    }
    const full = `${subject}\n\n${body}`.trim() || '(empty message)';
    body = full.length > MAX_TEXT ? `${full.slice(0, MAX_TEXT - 20)}\n[truncated]` : full;
    const { incident } = await this.deps.requests
      .file({
        clientId,
        channel: 'email',
        origin: mail.messageId ? `email:${mail.messageId.slice(0, 300)}` : undefined,
        text: body,
        requester: { name: from?.name || address, email: address },
      })
      .catch((err: unknown) => {
        // Another client's Message-ID: refused for good (a retry would be refused again), with nothing of that ticket.
        if (err instanceof OutpostError && err.code === 'OUTPOST_E_CONFLICT')
          throw smtpError(554, 'This Message-ID was already used');
        throw err;
      });
    if (files.length || mail.attachments.length) this.#store(incident.id, files, mail.attachments.length);
    this.deps.acknowledge?.(incident, address, mail.messageId);
    log.info({ incidentId: incident.id, clientId }, 'mail filed as a ticket');
  }

  /** The ticket a reply belongs to: by a message id that opened one, else by `[in_…]` in the subject; same client only. */
  async #thread(
    inReplyTo: string | undefined,
    references: string | string[] | undefined,
    subject: string,
    clientId: string,
  ): Promise<Incident | undefined> {
    const ids = [inReplyTo, ...(Array.isArray(references) ? references : references ? [references] : [])].filter(
      (x): x is string => !!x,
    );
    for (const id of ids) {
      const req = await this.deps.requests.store.byOrigin(`email:${id.slice(0, 300)}`);
      const inc = req && (await this.deps.incidents.get(req.incidentId));
      if (inc && inc.clientId === clientId) return inc;
    }
    const m = TICKET_IN_SUBJECT.exec(subject);
    const inc = m ? await this.deps.incidents.get(m[1]!) : undefined;
    // Another client's ticket number in a subject is a new request, never a comment on that ticket.
    return inc && inc.clientId === clientId ? inc : undefined;
  }

  /** The attachments within the limits. */
  #keep(all: { filename?: string | undefined; content: Buffer; size: number }[]) {
    const { maxCount, maxBytes } = this.settings.attachments;
    return all.filter((a) => a.size <= maxBytes).slice(0, maxCount);
  }

  /** Writes kept attachments under the ticket's folder; a note on the ticket says what was kept and dropped. */
  #store(incidentId: string, files: { filename?: string | undefined; content: Buffer }[], total: number): void {
    const dir = join(this.deps.attachmentsDir, incidentId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const [i, f] of files.entries())
      writeFileSync(join(dir, `${i + 1}-${safeName(f.filename ?? '')}`), f.content, { mode: 0o600 });
    const dropped = total - files.length;
    void this.deps.incidents
      .comment(
        SYSTEM,
        incidentId,
        `Attachments stored: ${files.length}${dropped ? `; ${dropped} dropped (over ${this.settings.attachments.maxCount} files or ${this.settings.attachments.maxBytes} bytes each)` : ''}`,
      )
      .catch((err: unknown) => this.deps.logger.error({ err, incidentId }, 'attachment note failed'));
  }
}
