/**
 * Delivery per channel kind: generic JSON webhook signed with HMAC-SHA256, Slack and Microsoft Teams message formats
 * (plain webhook POSTs), and e-mail over SMTP with nodemailer. One send = one attempt; the outbox retries.
 */
import { createHmac } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import nodemailer, { type Transporter } from 'nodemailer';
import { escapeHtml, visible } from '../text/index.js';
import type { ChannelRecord } from './store.js';

/** What a queued message carries (rendered the same way whatever the channel). */
export interface Message {
  id: string;
  event: string;
  at: number;
  incident: {
    id: string;
    clientId: string;
    siteId: string;
    agentIds: string[];
    title: string;
    type: string;
    criticality: string;
    tier: number;
    status: string;
    escalationLevel: number;
    assignee: string | null;
  };
  detail: Record<string, unknown>;
  onCall: { userId: string; email: string } | null;
}

/** The signature header value for a webhook body: `sha256=` HMAC of `${timestamp}.${body}`. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

const EVENT_WORDS: Record<string, string> = {
  opened: 'opened',
  reopened: 'reopened',
  acknowledged: 'acknowledged',
  assigned: 'assigned',
  escalated: 'escalated',
  deescalated: 'de-escalated',
  sla_warning: 'SLA target approaching',
  sla_breach: 'SLA target breached',
  resolved: 'resolved',
  closed: 'closed',
  test: 'test message',
  channel_test: 'test message',
};

/**
 * How one channel format writes a string it did not write itself (titles, hostnames, check messages, addresses). Each
 * format has exactly one, applied to every interpolated value, so no field can be forgotten (docs/0005-notifications.md,
 * "Rendering agent strings").
 */
type Escape = (s: string) => string;

/**
 * At most `n` code points of an agent string, with `…` when cut. Slack refuses a block whose text is too long (field
 * 2,000, section 3,000 characters) and Teams a card past ~28 KB: one long check message would otherwise make every
 * retry fail and hold the channel's queue. Cut before escaping, so no escape is split: 200 × 9 (the longest escape,
 * `\u{e0001}`) stays under Slack's field limit, and Teams' 100 × 13 (`&#92;u{e0001}`) keeps a card of a dozen facts
 * under its size limit.
 */
function clip(s: string, n = 200): string {
  const cps = [...s];
  return cps.length <= n ? s : `${cps.slice(0, n).join('')}…`;
}

/** Slack mrkdwn: controls and bidi made visible, then `&`, `<`, `>` as Slack documents, so `<!channel>`, `<@U…>`
 * and `<http://x|label>` are shown as text, never as a mention or a disguised link. */
export const slackText: Escape = (s) =>
  visible(clip(s)).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Teams MessageCard text (markdown and a subset of HTML): controls and bidi made visible, then the HTML
 * metacharacters and every markdown metacharacter written as numeric entities in one pass, so tags,
 * `[label](http://x)`, `**` and `#` are shown as typed. */
export const teamsText: Escape = (s) =>
  visible(clip(s, 100)).replace(/[&<>"'\\`*_[\]()#~|]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Plain text (e-mail subject and body, previews, the webhook's headline): controls, CR, LF and bidi made visible,
 * so one value stays on its line and cannot add a header or a forged line. */
export const plainText: Escape = (s) => visible(s);

/** One line a person reads first, each value written by `esc`. */
export function headline(m: Message, esc: Escape = plainText): string {
  return `[${esc(m.incident.criticality)}] Incident ${esc(EVENT_WORDS[m.event] ?? m.event)}: ${esc(m.incident.title)} (${esc(m.incident.id)})`;
}

/** The facts shown under the headline, names and values written by `esc`. */
export function facts(m: Message, esc: Escape = plainText): [string, string][] {
  const out: [string, string][] = [
    ['Client', m.incident.clientId],
    ['Site', m.incident.siteId],
    ['Type', m.incident.type],
    ['Tier', String(m.incident.tier)],
    ['Status', m.incident.status],
    ['Machines', m.incident.agentIds.join(', ') || '-'],
  ];
  if (m.incident.escalationLevel) out.push(['Escalation level', String(m.incident.escalationLevel)]);
  if (m.onCall) out.push(['On call', m.onCall.email]);
  for (const [k, v] of Object.entries(m.detail)) out.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
  return out.map(([k, v]) => [esc(k), esc(v)]);
}

/** Slack incoming-webhook body; `text` (the notification preview) is mrkdwn too. */
export function slackBody(m: Message): Record<string, unknown> {
  const text = `${headline(m, slackText)}${m.onCall ? ` — on call: ${slackText(m.onCall.email)}` : ''}`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${text.replace(/[*_~`]/g, '')}*` } },
      {
        type: 'section',
        fields: facts(m, slackText)
          .slice(0, 10)
          .map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v}` })),
      },
    ],
  };
}

const COLOURS: Record<string, string> = { P1: 'D32F2F', P2: 'F57C00', P3: 'FBC02D', P4: '1976D2' };

/** Microsoft Teams incoming-webhook body (MessageCard); `summary` is a plain-text preview. */
export function teamsBody(m: Message): Record<string, unknown> {
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: headline(m, (s) => visible(clip(s, 100))),
    themeColor: COLOURS[m.incident.criticality] ?? '757575',
    title: headline(m, teamsText),
    sections: [{ facts: facts(m, teamsText).map(([name, value]) => ({ name, value })) }],
  };
}

/** The e-mail: a one-line subject, a text part and an HTML part (shared `escapeHtml`). */
export function mailBody(m: Message): { subject: string; text: string; html: string } {
  const rows = facts(m);
  const html = facts(m, escapeHtml)
    .map(([k, v]) => `<tr><th align="left">${k}</th><td>${v}</td></tr>`)
    .join('');
  return {
    subject: headline(m),
    text: `${headline(m)}\n\n${rows.map(([k, v]) => `${k}: ${v}`).join('\n')}\n`,
    html: `<p><strong>${headline(m, escapeHtml)}</strong></p><table>${html}</table>`,
  };
}

/** The generic webhook body. */
export function webhookBody(m: Message): Record<string, unknown> {
  return {
    id: m.id,
    event: m.event,
    at: m.at,
    headline: headline(m),
    incident: m.incident,
    detail: m.detail,
    onCall: m.onCall,
  };
}

async function post(url: string, body: unknown, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  const text = JSON.stringify(body);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: text,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_DELIVERY_FAILED', {
      cause,
      message: `POST ${new URL(url).origin}: ${(cause as Error).message}`,
    });
  }
  await res.body?.cancel().catch(() => undefined);
  if (res.status < 200 || res.status >= 300)
    throw new OutpostError('OUTPOST_E_DELIVERY_FAILED', {
      message: `POST ${new URL(url).origin}: HTTP ${res.status}`,
      details: { status: res.status },
    });
}

/** Sends messages; SMTP transports are kept per channel. */
export class Senders {
  readonly #smtp = new Map<string, Transporter>();

  constructor(private readonly opts: { timeoutMs: number; clock: { now(): number } }) {}

  async send(ch: ChannelRecord, m: Message): Promise<void> {
    const url = String(ch.config.url ?? '');
    switch (ch.kind) {
      case 'webhook': {
        const body = webhookBody(m);
        const ts = String(Math.floor(this.opts.clock.now() / 1000));
        return post(
          url,
          body,
          {
            'x-outpost-delivery': m.id,
            'x-outpost-event': m.event,
            'x-outpost-timestamp': ts,
            'x-outpost-signature': signature(ch.secret ?? '', ts, JSON.stringify(body)),
          },
          this.opts.timeoutMs,
        );
      }
      // The delivery id lets a receiver drop the rare duplicate (docs/0005-notifications.md).
      case 'slack':
        return post(url, slackBody(m), { 'x-outpost-delivery': m.id }, this.opts.timeoutMs);
      case 'teams':
        return post(url, teamsBody(m), { 'x-outpost-delivery': m.id }, this.opts.timeoutMs);
      case 'email':
        return this.#email(ch, m);
    }
  }

  async #email(ch: ChannelRecord, m: Message): Promise<void> {
    const c = ch.config as {
      host: string;
      port: number;
      secure?: boolean;
      requireTLS?: boolean;
      user?: string;
      from: string;
      to: string[];
    };
    let t = this.#smtp.get(ch.id);
    if (!t) {
      t = nodemailer.createTransport({
        host: c.host,
        port: c.port,
        secure: c.secure ?? false,
        requireTLS: c.requireTLS ?? false,
        ...(c.user ? { auth: { user: c.user, pass: ch.secret ?? '' } } : {}),
        connectionTimeout: this.opts.timeoutMs,
        greetingTimeout: this.opts.timeoutMs,
        socketTimeout: this.opts.timeoutMs,
      });
      this.#smtp.set(ch.id, t);
    }
    const to = [...new Set([...c.to, ...(m.onCall ? [m.onCall.email] : [])])];
    try {
      await t.sendMail({
        from: c.from,
        to,
        ...mailBody(m),
        messageId: `<${m.id}@outpost>`,
        headers: { 'X-Outpost-Delivery': m.id, 'X-Outpost-Event': m.event },
      });
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_DELIVERY_FAILED', {
        cause,
        message: `SMTP ${c.host}:${c.port}: ${(cause as Error).message}`,
      });
    }
  }

  /** Closes pooled SMTP connections. */
  close(): void {
    for (const t of this.#smtp.values()) t.close();
    this.#smtp.clear();
  }
}
