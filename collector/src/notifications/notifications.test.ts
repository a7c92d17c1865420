/**
 * Notifications on real components: incidents and contracts on in-memory SQLite with a fake clock, a real SMTP server
 * and a real HTTP receiver on loopback. Routing and on-call, e-mail, a signed webhook, Slack and Teams bodies, the
 * backoff schedule, channel health and the channel's own incident, and two workers sharing one outbox.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../auth/index.js';
import { sqlOf } from '../db/index.js';
import { type Harness, harness } from '../incidents/harness.fixture.js';
import type { DetectionSignal } from '../incidents/index.js';
import { signature } from './channels.js';
import { retryDelay } from './delivery.js';
import { Notifications } from './service.js';
import { NotificationsStore } from './store.js';

const M = 60_000;
const ADMIN: Actor = { kind: 'system', id: 'system' };
/** Tuesday 13 January 2026, 10:00 in Paris. */
const T0 = Date.parse('2026-01-13T10:00:00+01:00');
const OPTS = { pollMs: 3_600_000, retryBaseMs: 1_000, retryMaxMs: 8_000, failureIncidentAfter: 3, timeoutMs: 2_000 };

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An HTTP receiver on loopback that records every POST and answers `status`. */
class Receiver {
  readonly received: Received[] = [];
  status = 200;
  readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(this.status).end();
    });
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A real SMTP server on loopback keeping every message (envelope and raw text). */
class Mailbox {
  readonly mails: { to: string[]; raw: string }[] = [];
  readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, session, done) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        this.mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        done();
      });
    },
  });
  port = 0;
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.server.address() as AddressInfo).port;
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const receiver = new Receiver();
const mailbox = new Mailbox();
beforeAll(async () => {
  await receiver.start();
  await mailbox.start();
});
afterAll(async () => {
  await receiver.close();
  await mailbox.close();
});

function build(h: Harness, random = () => 0.5, opts = OPTS): Notifications {
  const n = new Notifications({
    db: sqlOf(h.db),
    audit: h.audit,
    clock: h.clock,
    logger: pino({ level: 'silent' }),
    deps: {
      clientExists: async (id) => (await h.tenants.client(id)) !== undefined,
      inCoverage: (c, s, at) => h.contracts.inCoverage(c, s, at),
      onCall: (c, t, at) => h.contracts.onCall(c, t, at),
      incidents: h.incidents,
      noteSent: (id, data) => h.incidents.note(id, 'notification', data),
    },
    options: opts,
    random,
  });
  h.incidents.setNotifier(n);
  return n;
}

const signal = (h: Harness, over: Partial<DetectionSignal> = {}): DetectionSignal => ({
  key: `threshold:ag_1:disk:${Math.random()}`,
  clientId: h.client.id,
  siteId: h.site.id,
  agentIds: ['ag_1'],
  source: 'threshold',
  rule: 'disk.used_pct > 90',
  type: 'capacity',
  criticality: 'P2',
  tier: 1,
  failureTime: h.clock.t - 5 * M,
  detectedAt: h.clock.t,
  title: 'Disk C: 95 % full',
  explanation: 'disk.used_pct is 95, above 90 for 5 min',
  ...over,
});

const DAY: [string, string][] = [['09:00', '18:00']];

async function officeContract(h: Harness) {
  const cal = await h.contracts.saveCalendar(ADMIN, {
    name: 'Office',
    clientId: h.client.id,
    timezone: 'Europe/Paris',
    kind: 'hours',
    hours: { mon: DAY, tue: DAY, wed: DAY, thu: DAY, fri: DAY },
    holidays: [],
  });
  await h.contracts.setContract(ADMIN, h.client.id, {
    name: 'Gold',
    calendarId: cal.id,
    targets: { P1: { responseMinutes: 30, resolutionMinutes: 240 } },
  });
}

describe('routing', () => {
  it('routes by client, least criticality, tier and event, and addresses the person on duty outside coverage', async () => {
    const h = await harness({ start: T0 });
    const n = build(h);
    await officeContract(h);
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    await h.contracts.createRotation(ADMIN, {
      name: 'Tier 1 nights',
      clientId: h.client.id,
      tier: 1,
      startAt: T0 - 24 * 60 * M,
      shiftHours: 24,
      members: [alice.id, bob.id],
    });
    const urgent = (
      await n.createChannel(ADMIN, {
        kind: 'slack',
        name: 'urgent',
        clientId: h.client.id,
        url: `${receiver.url}/urgent`,
      })
    ).channel;
    const all = (
      await n.createChannel(ADMIN, { kind: 'teams', name: 'all', clientId: null, url: `${receiver.url}/all` })
    ).channel;
    const other = (
      await n.createChannel(ADMIN, {
        kind: 'slack',
        name: 'globex',
        clientId: h.other.id,
        url: `${receiver.url}/globex`,
      })
    ).channel;
    await n.createRoute(ADMIN, {
      channelId: urgent.id,
      minCriticality: 'P2',
      tiers: [1],
      events: ['opened'],
      onCall: true,
    });
    await n.createRoute(ADMIN, { channelId: all.id });
    await n.createRoute(ADMIN, { channelId: other.id });

    // P3 during office hours: only the catch-all channel; Globex's channel never sees Acme's tickets.
    const p3 = await h.incidents.raise(signal(h, { criticality: 'P3' }));
    // P2 at tier 1 during office hours: both, and nobody is paged (the desk is staffed).
    const p2 = await h.incidents.raise(signal(h));
    // P2 at tier 2: the urgent route is tier 1 only.
    await h.incidents.raise(signal(h, { tier: 2 }));
    // P2 at 22:00: the urgent message is addressed to whoever is on duty (day 2 of the rotation: bob).
    h.clock.t = Date.parse('2026-01-13T22:00:00+01:00');
    const night = await h.incidents.raise(signal(h, { criticality: 'P1' }));

    const rows = await n.listOutbox({ limit: 100 });
    const to = (incidentId: string) =>
      rows
        .filter((r) => r.incidentId === incidentId)
        .map((r) => r.channelId)
        .sort();
    expect(to(p3.incidentId)).toEqual([all.id]);
    expect(to(p2.incidentId)).toEqual([urgent.id, all.id].sort());
    expect(rows.filter((r) => r.channelId === other.id)).toHaveLength(0);
    expect(rows.filter((r) => r.channelId === urgent.id)).toHaveLength(2);
    const paged = rows.find((r) => r.incidentId === night.incidentId && r.channelId === urgent.id)!;
    expect(paged.message.onCall).toEqual({ userId: bob.id, email: bob.email });
    expect(rows.find((r) => r.incidentId === p2.incidentId && r.channelId === urgent.id)!.message.onCall).toBeNull();
    // The catch-all route did not ask for on-call.
    expect(rows.find((r) => r.incidentId === night.incidentId && r.channelId === all.id)!.message.onCall).toBeNull();
  });

  it('refuses malformed channels and routes and stores nothing', async () => {
    const h = await harness({ start: T0 });
    const n = build(h);
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'stored',
        (e: { code?: string }) => e.code,
      );
    const ch = (
      await n.createChannel(ADMIN, { kind: 'slack', name: 's', clientId: h.client.id, url: `${receiver.url}/s` })
    ).channel;
    expect(await code(n.createRoute(ADMIN, { channelId: 'ch_nope' }))).toBe('OUTPOST_E_CONTRACT_INVALID');
    expect(await code(n.createRoute(ADMIN, { channelId: ch.id, clientId: h.other.id }))).toBe(
      'OUTPOST_E_CONTRACT_INVALID',
    );
    expect(
      await code(n.createChannel(ADMIN, { kind: 'slack', name: 'x', clientId: 'cl_nope', url: `${receiver.url}/x` })),
    ).toBe('OUTPOST_E_NOT_FOUND');
    expect(
      await code(
        n.createChannel(ADMIN, {
          kind: 'email',
          name: 'm',
          clientId: null,
          host: '127.0.0.1',
          port: 25,
          user: 'only-user',
          from: 'a@b.c',
          to: ['d@e.f'],
        }),
      ),
    ).toBe('OUTPOST_E_CONTRACT_INVALID');
    expect(await n.listRoutes()).toHaveLength(0);
    expect((await n.listChannels()).map((c) => c.id)).toEqual([ch.id]);
  });
});

describe('delivery', () => {
  it('sends e-mail over SMTP, a signed webhook, Slack and Teams bodies, and notes each on the timeline', async () => {
    const h = await harness({ start: T0 });
    const n = build(h);
    const hook = await n.createChannel(ADMIN, {
      kind: 'webhook',
      name: 'psa',
      clientId: h.client.id,
      url: `${receiver.url}/hook`,
    });
    const mail = await n.createChannel(ADMIN, {
      kind: 'email',
      name: 'desk',
      clientId: h.client.id,
      host: '127.0.0.1',
      port: mailbox.port,
      from: 'outpost@msp.test',
      to: ['desk@acme.test'],
    });
    const slack = await n.createChannel(ADMIN, {
      kind: 'slack',
      name: 'sl',
      clientId: null,
      url: `${receiver.url}/slack`,
    });
    const teams = await n.createChannel(ADMIN, {
      kind: 'teams',
      name: 'tm',
      clientId: null,
      url: `${receiver.url}/teams`,
    });
    expect(hook.secret).toMatch(/^[\w-]{43}$/);
    expect(mail.secret).toBeUndefined();
    for (const c of [hook, mail, slack, teams]) await n.createRoute(ADMIN, { channelId: c.channel.id });
    const before = receiver.received.length;
    const { incidentId } = await h.incidents.raise(signal(h, { title: 'Mail server queue stuck' }));

    expect(await n.deliverDue()).toEqual({ sent: 4, failed: 0 });
    expect(await n.deliverDue()).toEqual({ sent: 0, failed: 0 });

    const got = receiver.received.slice(before);
    const webhook = got.find((r) => r.path === '/hook')!;
    const ts = String(webhook.headers['x-outpost-timestamp']);
    expect(webhook.headers['x-outpost-signature']).toBe(signature(hook.secret!, ts, webhook.body));
    expect(webhook.headers['x-outpost-signature']).not.toBe(signature('another key of some length', ts, webhook.body));
    const payload = JSON.parse(webhook.body) as { id: string; event: string; incident: { id: string; title: string } };
    expect(payload).toMatchObject({ event: 'opened', incident: { id: incidentId, title: 'Mail server queue stuck' } });
    expect(webhook.headers['x-outpost-delivery']).toBe(payload.id);

    const slackBody = JSON.parse(got.find((r) => r.path === '/slack')!.body) as {
      text: string;
      blocks: { type: string; text?: { type: string; text: string }; fields?: { type: string; text: string }[] }[];
    };
    expect(slackBody.text).toContain('Mail server queue stuck');
    expect(slackBody.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(slackBody.blocks[1]!.fields!.map((f) => f.text)).toContain(`*Client*\n${h.client.id}`);

    const teamsBody = JSON.parse(got.find((r) => r.path === '/teams')!.body) as Record<string, unknown> & {
      sections: { facts: { name: string; value: string }[] }[];
    };
    expect(teamsBody).toMatchObject({
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      themeColor: 'F57C00',
    });
    expect(String(teamsBody.title)).toContain('Mail server queue stuck');
    expect(teamsBody.sections[0]!.facts).toContainEqual({ name: 'Tier', value: '1' });

    const email = mailbox.mails.at(-1)!;
    expect(email.to).toEqual(['desk@acme.test']);
    const headers = email.raw.split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');
    expect(headers).toMatch(
      new RegExp(`^Subject: \\[P2\\] Incident opened: Mail server queue stuck \\(${incidentId}\\)$`, 'm'),
    );

    const notes = (await h.incidents.timeline(incidentId)).filter((e) => e.kind === 'notification');
    expect(notes.map((e) => e.data.kind).sort()).toEqual(['email', 'slack', 'teams', 'webhook']);
    for (const c of await n.listChannels())
      expect(c).toMatchObject({ state: 'ok', pending: 0, consecutiveFailures: 0 });
    await n.stop();
  });

  it('agent strings reach Slack, Teams, e-mail and the webhook as text: no mention, link, markup, header or bidi', async () => {
    const h = await harness({ start: T0 });
    const n = build(h);
    const hostile =
      'web01 <!channel> <!here> <@U0123> <http://evil.test|click> & [pay](http://evil.test) **b** #h \u202eexe.txt\r\nBcc: victim@evil.test';
    const at = (path: string) =>
      n.createChannel(ADMIN, { kind: 'slack', name: path, clientId: null, url: `${receiver.url}/${path}` });
    const slack = await at('x-slack');
    const teams = await n.createChannel(ADMIN, {
      kind: 'teams',
      name: 'tm',
      clientId: null,
      url: `${receiver.url}/x-teams`,
    });
    const hook = await n.createChannel(ADMIN, {
      kind: 'webhook',
      name: 'wh',
      clientId: null,
      url: `${receiver.url}/x-hook`,
    });
    const mail = await n.createChannel(ADMIN, {
      kind: 'email',
      name: 'desk',
      clientId: null,
      host: '127.0.0.1',
      port: mailbox.port,
      from: 'outpost@msp.test',
      to: ['desk@acme.test'],
    });
    for (const c of [slack, teams, hook, mail]) await n.createRoute(ADMIN, { channelId: c.channel.id });
    const before = receiver.received.length;
    const mails = mailbox.mails.length;
    await h.incidents.raise(signal(h, { title: hostile }));
    expect(await n.deliverDue()).toEqual({ sent: 4, failed: 0 });
    const got = (path: string) => receiver.received.slice(before).find((r) => r.path === path)!.body;

    // Slack: every mrkdwn string escaped as Slack documents; the bidi override and CR LF shown, not applied.
    const sl = JSON.parse(got('/x-slack')) as {
      text: string;
      blocks: { text?: { text: string }; fields?: { text: string }[] }[];
    };
    const slackTexts = [sl.text, sl.blocks[0]!.text!.text, ...sl.blocks[1]!.fields!.map((f) => f.text)];
    for (const t of slackTexts) expect(t).not.toMatch(/[<>\u202e\r]|&(?!amp;|lt;|gt;)/);
    expect(sl.text).toContain('&lt;!channel&gt; &lt;!here&gt; &lt;@U0123&gt; &lt;http://evil.test|click&gt; &amp;');
    expect(sl.text).toContain('\\u202eexe.txt\\r\\nBcc');

    // Teams: no tag, no markdown link or emphasis survives; the text reads the same once entities are decoded.
    const tm = JSON.parse(got('/x-teams')) as {
      title: string;
      summary: string;
      sections: { facts: { value: string }[] }[];
    };
    for (const t of [tm.title, ...tm.sections[0]!.facts.map((f) => f.value)])
      expect(t).not.toMatch(/[<>*\u202e]|\]\(|#(?!\d+;)/);
    const decoded = tm.title.replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)));
    expect(decoded).toContain(
      '<!channel> <!here> <@U0123> <http://evil.test|click> & [pay](http://evil.test) **b** #h',
    );
    expect(tm.summary).not.toMatch(/[\u202e\r\n]/);

    // Generic webhook: the data as it was (a program escapes for its own output), the headline made visible.
    const wh = JSON.parse(got('/x-hook')) as { headline: string; incident: { title: string } };
    expect(wh.incident.title).toBe(hostile);
    expect(wh.headline).not.toMatch(/[\u202e\r\n]/);

    // E-mail: one Subject line and no injected Bcc; the HTML part escaped with escapeHtml.
    expect(mailbox.mails).toHaveLength(mails + 1);
    const email = mailbox.mails.at(-1)!;
    expect(email.to).toEqual(['desk@acme.test']);
    const head = email.raw.split('\r\n\r\n')[0]!;
    expect(head).not.toMatch(/^Bcc:/im);
    expect(email.raw).not.toContain('victim@evil.test\r\n');
    const subject = head.replace(/\r\n[ \t]+/g, ' ').match(/^Subject: (.*)$/m)![1]!;
    expect(subject).toContain('\\u202eexe.txt\\r\\nBcc: victim@evil.test');
    const qp = email.raw
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, x: string) => String.fromCharCode(Number.parseInt(x, 16)));
    expect(qp).toContain('web01 &lt;!channel&gt; &lt;!here&gt; &lt;@U0123&gt; &lt;http://evil.test|click&gt; &amp;');
    const html = qp.slice(qp.indexOf('<p><strong>'), qp.indexOf('</table>'));
    expect(html).toContain('<td>');
    expect(html).not.toMatch(/<!channel>|\u202e/);
    await n.stop();
  });

  it('a huge agent string is cut to what Slack and Teams accept, so it cannot hold the channel in retries', async () => {
    const h = await harness({ start: T0 });
    const n = build(h);
    const slack = await n.createChannel(ADMIN, {
      kind: 'slack',
      name: 's',
      clientId: null,
      url: `${receiver.url}/big-slack`,
    });
    const teams = await n.createChannel(ADMIN, {
      kind: 'teams',
      name: 't',
      clientId: null,
      url: `${receiver.url}/big-teams`,
    });
    for (const c of [slack, teams]) await n.createRoute(ADMIN, { channelId: c.channel.id });
    const before = receiver.received.length;
    await h.incidents.raise(signal(h, { title: `${'<'.repeat(3000)}\u{e0001}`.repeat(3) }));
    expect(await n.deliverDue()).toEqual({ sent: 2, failed: 0 });
    const got = (path: string) => receiver.received.slice(before).find((r) => r.path === path)!.body;
    const sl = JSON.parse(got('/big-slack')) as { blocks: { text?: { text: string }; fields?: { text: string }[] }[] };
    expect(sl.blocks[0]!.text!.text.length).toBeLessThanOrEqual(3000);
    expect(sl.blocks[0]!.text!.text).toContain('&lt;&lt;…');
    for (const f of sl.blocks[1]!.fields!) expect(f.text.length).toBeLessThanOrEqual(2000);
    expect(got('/big-teams').length).toBeLessThan(28_000);
    await n.stop();
  });

  it('at night an on-call route adds the person on duty to the e-mail recipients', async () => {
    const h = await harness({ start: Date.parse('2026-01-17T03:00:00+01:00') }); // Saturday 03:00
    const n = build(h);
    await officeContract(h);
    const carol = await h.user('carol');
    await h.contracts.createRotation(ADMIN, {
      name: 'Tier 2',
      clientId: h.client.id,
      tier: 2,
      startAt: T0,
      shiftHours: 168,
      members: [carol.id],
    });
    const mail = await n.createChannel(ADMIN, {
      kind: 'email',
      name: 'oncall',
      clientId: h.client.id,
      host: '127.0.0.1',
      port: mailbox.port,
      from: 'outpost@msp.test',
      to: ['noc@msp.test'],
    });
    await n.createRoute(ADMIN, { channelId: mail.channel.id, tiers: [2], onCall: true });
    await h.incidents.raise(signal(h, { tier: 2, title: 'Plant line 3 PLC unreachable' }));
    expect(await n.deliverDue()).toEqual({ sent: 1, failed: 0 });
    const email = mailbox.mails.at(-1)!;
    expect(email.to.sort()).toEqual([carol.email, 'noc@msp.test'].sort());
    expect(email.raw).toContain(`On call: ${carol.email}`);
  });

  it('two workers on one outbox send every message once', async () => {
    const h = await harness({ start: T0 });
    const a = build(h);
    const b = build(h);
    const ch = (
      await a.createChannel(ADMIN, { kind: 'slack', name: 'both', clientId: null, url: `${receiver.url}/both` })
    ).channel;
    await a.createRoute(ADMIN, { channelId: ch.id });
    for (let i = 0; i < 10; i++) await h.incidents.raise(signal(h));
    const [ra, rb] = await Promise.all([a.deliverDue(), b.deliverDue()]);
    expect(ra.sent + rb.sent).toBe(10);
    const ids = receiver.received.filter((r) => r.path === '/both').map((r) => r.headers['x-outpost-delivery']);
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
  });

  it('under a lease no longer surely held, a pass sends nothing; once held again, it sends', async () => {
    const h = await harness({ start: T0 });
    const n = build(h);
    const ch = (
      await n.createChannel(ADMIN, { kind: 'slack', name: 'lease', clientId: null, url: `${receiver.url}/lease` })
    ).channel;
    await n.createRoute(ADMIN, { channelId: ch.id });
    for (let i = 0; i < 3; i++) await h.incidents.raise(signal(h));
    let held = false;
    n.start({ valid: () => held });
    try {
      expect(await n.deliverDue()).toEqual({ sent: 0, failed: 0 });
      expect(receiver.received.filter((r) => r.path === '/lease')).toHaveLength(0);
      held = true;
      expect(await n.deliverDue()).toEqual({ sent: 3, failed: 0 });
    } finally {
      await n.stop();
    }
  });
});

describe('claims', () => {
  it('a message claimed by a process that died is sent once its claim lapses, and the dead claim cannot mark it', async () => {
    const h = await harness({ start: T0 });
    const n = build(h);
    const ch = (
      await n.createChannel(ADMIN, { kind: 'slack', name: 'lapse', clientId: null, url: `${receiver.url}/lapse` })
    ).channel;
    await n.createRoute(ADMIN, { channelId: ch.id });
    await h.incidents.raise(signal(h));
    const store = new NotificationsStore(sqlOf(h.db));
    const [row] = await store.due(h.clock.t, 10);
    // A collector claimed it and was killed mid-send: its lease runs 2 × timeout + 1 s.
    const lease = 2 * OPTS.timeoutMs + 1000;
    expect(await store.claim(row!.id, 'dead-worker', h.clock.t, h.clock.t + lease)).toBe(true);
    expect(await n.deliverDue()).toEqual({ sent: 0, failed: 0 });
    h.clock.t += lease - 1;
    expect(await n.deliverDue()).toEqual({ sent: 0, failed: 0 });
    h.clock.t += 1;
    expect(await n.deliverDue()).toEqual({ sent: 1, failed: 0 });
    expect(await store.markDelivered(row!.id, 'dead-worker', h.clock.t)).toBe(false);
    expect(await store.markFailed(row!.id, 'dead-worker', 'late', h.clock.t + 1)).toBe(false);
    expect(await store.outboxItem(row!.id)).toMatchObject({ attempts: 1, deliveredAt: h.clock.t, lastError: null });
    expect(receiver.received.filter((r) => r.path === '/lapse')).toHaveLength(1);
  });
});

describe('retries and channel health', () => {
  it('jitter stays within ±20 % and under the cap', () => {
    expect([1, 2, 3, 4, 5, 30, 2000].map((k) => retryDelay(k, 1000, 8000, () => 0.5))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000, 8000,
    ]);
    expect(retryDelay(2, 1000, 8000, () => 0)).toBe(1600);
    expect(retryDelay(2, 1000, 8000, () => 0.999999)).toBe(2400);
    expect(retryDelay(9, 1000, 8000, () => 0.999999)).toBe(8000);
  });

  it('backs off on the fake clock, shows the failing channel, opens its incident once after N failures and clears it on recovery', async () => {
    const h = await harness({ start: T0, autoResolveHoldMs: 5 * M });
    const n = build(h);
    const down = new Receiver();
    down.status = 503;
    await down.start();
    try {
      const ch = (
        await n.createChannel(ADMIN, { kind: 'webhook', name: 'psa', clientId: h.client.id, url: `${down.url}/in` })
      ).channel;
      await n.createRoute(ADMIN, { channelId: ch.id });
      const { incidentId } = await h.incidents.raise(signal(h));
      const attemptsAt: number[] = [];
      const ownIncident = async () =>
        (await h.incidents.list({ limit: 10 })).incidents.find((i) => i.key === `notifications:channel:${ch.id}`);

      // Attempts at T0, +1 s, +2 s, +4 s, +8 s (capped), +8 s: each one only once its due time has come.
      let t = T0;
      for (const delay of [0, 1000, 2000, 4000, 8000, 8000]) {
        t += delay;
        h.clock.t = t - 1;
        if (delay) expect(await n.deliverDue()).toEqual({ sent: 0, failed: 0 });
        h.clock.t = t;
        expect(await n.deliverDue()).toEqual({ sent: 0, failed: 1 });
        attemptsAt.push(t);
        const view = (await n.channel(ch.id))!;
        expect(view).toMatchObject({
          state: 'failing',
          consecutiveFailures: attemptsAt.length,
          pending: 1,
          lastFailureAt: t,
        });
        expect(view.lastError).toContain('HTTP 503');
        // The channel's own incident opens at the third failure, and only once.
        expect((await ownIncident()) !== undefined).toBe(attemptsAt.length >= 3);
        expect(view.incidentRaised).toBe(attemptsAt.length >= 3);
      }
      expect(down.received).toHaveLength(6);
      const own = (await ownIncident())!;
      expect(own).toMatchObject({
        status: 'open',
        clientId: h.client.id,
        siteId: h.site.id,
        failureTime: T0,
        type: 'notification',
      });
      expect((await h.incidents.list({ limit: 50 })).incidents.filter((i) => i.key === own.key)).toHaveLength(1);
      const [row] = await n.listOutbox({ limit: 10 });
      expect(row).toMatchObject({ incidentId, attempts: 6, deliveredAt: null, nextAttemptAt: t + 8000 });

      // The endpoint comes back: the message is delivered once, the channel is healthy, its incident clears.
      down.status = 204;
      h.clock.t = t + 8000;
      expect(await n.deliverDue()).toEqual({ sent: 1, failed: 0 });
      h.clock.t += 60_000;
      expect(await n.deliverDue()).toEqual({ sent: 0, failed: 0 });
      expect(down.received).toHaveLength(7);
      expect(new Set(down.received.map((r) => r.headers['x-outpost-delivery'])).size).toBe(1);
      expect(await n.channel(ch.id)).toMatchObject({
        state: 'ok',
        consecutiveFailures: 0,
        pending: 0,
        incidentRaised: false,
      });
      h.clock.t += 5 * M;
      await h.incidents.tick();
      expect((await h.incidents.get(own.id))?.status).toBe('resolved');
    } finally {
      await down.close();
    }
  });

  it('removing a failing channel clears its incident and drops its queue', async () => {
    const h = await harness({ start: T0, autoResolveHoldMs: 5 * M });
    const n = build(h, () => 0.5, { ...OPTS, failureIncidentAfter: 1 });
    const ch = (
      await n.createChannel(ADMIN, { kind: 'slack', name: 'gone', clientId: null, url: 'http://127.0.0.1:1/refused' })
    ).channel;
    await n.createRoute(ADMIN, { channelId: ch.id });
    await h.incidents.raise(signal(h));
    expect(await n.deliverDue()).toEqual({ sent: 0, failed: 1 });
    const own = (await h.incidents.list({ limit: 10 })).incidents.find(
      (i) => i.key === `notifications:channel:${ch.id}`,
    )!;
    expect(own.status).toBe('open');
    expect(await n.removeChannel(ADMIN, ch.id)).toEqual({ dropped: 1 });
    h.clock.t += 5 * M;
    await h.incidents.tick();
    expect((await h.incidents.get(own.id))?.status).toBe('resolved');
    expect(await n.listChannels()).toEqual([]);
  });
});
