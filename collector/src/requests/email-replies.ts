/**
 * What the desk sends back to an e-mail requester (docs/0014-requests.md): an acknowledgement with the ticket number
 * in the subject (`[in_…]`, so the user's reply threads onto the ticket) and the resolution. Every message carries
 * `Auto-Submitted: auto-replied` (RFC 3834) and a Message-ID of our own domain, so that neither our receiver nor a
 * well-behaved auto-responder answers it: no loop. Sent through the relay the configuration names; a failure is
 * logged, not retried (the notification outbox is the retried path for technicians).
 */
import { randomBytes } from 'node:crypto';
import { createTransport, type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Incident } from '../incidents/index.js';

/** The outgoing relay (`requests.email.relay`). */
export interface RelaySettings {
  host: string;
  port: number;
  secure: boolean;
  from: string;
}

/** Sends acknowledgements and resolutions. */
export class EmailReplies {
  readonly #smtp: Transporter;

  constructor(
    private readonly relay: RelaySettings,
    private readonly messageIdDomain: string,
    private readonly logger: Logger,
  ) {
    this.#smtp = createTransport({
      host: relay.host,
      port: relay.port,
      secure: relay.secure,
      ignoreTLS: !relay.secure,
    });
  }

  #send(to: string, subject: string, text: string, inReplyTo?: string): void {
    const messageId = `<${randomBytes(9).toString('hex')}@${this.messageIdDomain}>`;
    this.#smtp
      .sendMail({
        from: this.relay.from,
        to,
        subject,
        text,
        messageId,
        headers: { 'Auto-Submitted': 'auto-replied', 'X-Outpost-Loop': '1' },
        ...(inReplyTo ? { inReplyTo, references: inReplyTo } : {}),
      })
      .catch((err: unknown) => this.logger.warn({ err, to: to.replace(/^[^@]*/, '…') }, 'e-mail reply not sent'));
  }

  /** Tells the requester their ticket number. */
  acknowledge(i: Incident, to: string, inReplyTo?: string): void {
    this.#send(
      to,
      `[${i.id}] ${i.title}`,
      `Your request was received as ticket ${i.id} (${i.criticality}).\nReply to this message to add to it; keep [${i.id}] in the subject.\n`,
      inReplyTo,
    );
  }

  /** Tells the requester their ticket was resolved, with the technician's note. */
  resolved(i: Incident, to: string): void {
    this.#send(
      to,
      `[${i.id}] Resolved: ${i.title}`,
      `Your ticket ${i.id} was resolved.\n\n${i.resolutionNote ?? ''}\n\nIf it is not fixed, reply to this message.\n`,
    );
  }

  /** Sends a user their self-service sign-in link (docs/0014-requests.md, "Self-service"). */
  signInLink(to: string, url: string, minutes: number): void {
    this.#send(
      to,
      'Your sign-in link to the help desk',
      `Open this link to follow your requests with the help desk:\n\n${url}\n\nIt works once, within ${minutes} minutes. If you did not ask for it, ignore this message.\n`,
    );
  }

  close(): void {
    this.#smtp.close();
  }
}
