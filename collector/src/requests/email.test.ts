/**
 * The helpdesk's SMTP receiver on a real collector (buildApp on a temp dir, real SQLite) with a real SMTP client
 * (nodemailer) on loopback: a mail becomes a ticket (channel email, sender domain → client, HTML in the subject kept
 * as text), attachments are stored within the limits, a reply threads onto the ticket by In-Reply-To and by the
 * ticket number in the subject; auto-replies, bulk mail and our own mail coming back file nothing; an unknown sender
 * domain is refused (550); a 50 MB mail is refused (552) and malformed MIME does not stop the receiver.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport, type Transporter } from 'nodemailer';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import { startRelay, type TestRelay } from './smtp.fixture.js';

let app: Collector;
let dir: string;
let smtp: Transporter;
let clientId: string;
let other: string;
let port: number;
/** A relay on loopback standing for the organisation's mail server: what the desk sends back lands here. */
let relay: TestRelay;

const incidents = async () => (await app.incidents.list({ channel: 'email', limit: 1000 })).incidents;
const send = (mail: Record<string, unknown>) =>
  smtp.sendMail({ to: 'helpdesk@support.example', ...mail }).then(
    (info) => ({ ok: true as const, info, code: 250 }),
    (err: { responseCode?: number }) => ({ ok: false as const, code: err.responseCode }),
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-email-'));
  relay = await startRelay();
  const relayPort = relay.port;
  const settings = checkSettings({
    dataDir: join(dir, 'data'),
    tls: { enabled: false },
    log: { level: 'silent' },
    requests: {
      email: {
        port: 0,
        domains: { 'acme.example': 'cl_pending', 'Globex.example': 'cl_pending' },
        messageIdDomain: 'outpost.acme.example',
        relay: { host: '127.0.0.1', port: relayPort, from: 'Helpdesk <helpdesk@support.example>' },
        attachments: { maxCount: 2, maxBytes: 2000 },
      },
    },
  });
  // The domain map names clients the collector creates below: the settings object stays the collector's own.
  app = await buildApp({
    ...settings,
    clock: { now: () => Date.now() },
    logger: pino({ level: process.env.OUTPOST_TEST_LOG ?? 'silent' }),
  });
  const system = { kind: 'system', id: 'system' } as const;
  clientId = (await app.tenants.createClient(system, 'Acme')).id;
  other = (await app.tenants.createClient(system, 'Globex')).id;
  for (const c of [clientId, other]) await app.tenants.createSite(system, c, 'HQ', 'Europe/Paris');
  settings.requests.email!.domains['acme.example'] = clientId;
  settings.requests.email!.domains['Globex.example'] = other;
  await app.email!.ready;
  port = app.email!.address()!.port;
  smtp = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
});

afterAll(async () => {
  smtp?.close();
  await app?.close();
  await relay?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('e-mail to the helpdesk', () => {
  let first: { id: string; messageId: string };

  it('files a mail as a ticket of the sender domain’s client, with attachments stored within the limits', async () => {
    const r = await send({
      from: '"Bob Martin" <Bob@ACME.example>',
      subject: 'Printer <b>offline</b> again',
      text: 'Since this morning the printer on floor 2 says offline.',
      attachments: [
        { filename: '../../etc/passwd', content: 'small log' },
        { filename: 'big.bin', content: Buffer.alloc(5000, 1) },
        { filename: 'photo.jpg', content: Buffer.alloc(100, 2) },
        { filename: 'third.txt', content: 'over the count' },
      ],
    });
    expect(r.code).toBe(250);
    const list = await incidents();
    expect(list).toHaveLength(1);
    const inc = list[0]!;
    expect(inc).toMatchObject({
      channel: 'email',
      clientId,
      title: 'E-mail request from Bob Martin: Printer <b>offline</b> again',
    });
    const req = await app.requests.request(inc.id);
    expect(req).toMatchObject({ requesterContact: 'bob@acme.example', channel: 'email' });
    first = { id: inc.id, messageId: r.ok ? r.info.messageId : '' };
    const stored = readdirSync(join(dir, 'data', 'request-attachments', inc.id)).sort();
    // Two kept (the count limit), the 5000-byte one dropped (the size limit), no path kept from the name.
    expect(stored).toEqual(['1-__.._etc_passwd', '2-photo.jpg']);
    const timeline = await app.incidents.timeline(inc.id);
    expect(timeline.some((e) => e.kind === 'comment' && String(e.data.text).includes('2 dropped'))).toBe(true);
  });

  it('acknowledges with the ticket number in the subject, then sends the resolution, marked as automatic', async () => {
    await relay.until(() => relay.sent.some((m) => m.subject?.startsWith(`[${first.id}]`)));
    const ack = relay.sent.find((m) => m.subject?.startsWith(`[${first.id}]`))!;
    expect(ack.to && 'text' in ack.to ? ack.to.text : '').toContain('bob@acme.example');
    expect(ack.headers.get('auto-submitted')).toBe('auto-replied');
    expect(ack.inReplyTo).toBe(first.messageId);
    await app.incidents.resolve({ kind: 'system', id: 'system' }, first.id, 'Toner replaced', 'hardware');
    await relay.until(() => relay.sent.some((m) => m.subject?.startsWith(`[${first.id}] Resolved`)));
    expect(relay.sent.find((m) => m.subject?.startsWith(`[${first.id}] Resolved`))!.text).toContain('Toner replaced');
    await app.incidents.reopen({ kind: 'system', id: 'system' }, first.id, 'the reply test needs it open');
  });

  it("refuses for good a mail of another client reusing a ticket's Message-ID, telling it nothing of that ticket", async () => {
    const before = (await incidents()).length;
    const sentBefore = relay.sent.length;
    const r = await send({
      from: 'mallory@globex.example',
      messageId: first.messageId,
      subject: 'anything',
      text: 'Which ticket is this?',
      attachments: [{ filename: 'planted.txt', content: 'not for Acme' }],
    });
    // Before: Acme's ticket came back as this mail's, acknowledged to Globex's sender, the file stored on it.
    expect(r.code).toBe(554);
    expect((await incidents()).length).toBe(before);
    expect(readdirSync(join(dir, 'data', 'request-attachments', first.id))).not.toContain('1-planted.txt');
    expect(relay.sent.slice(sentBefore).some((m) => m.subject?.includes(first.id))).toBe(false);
  });

  it('threads a reply onto the ticket by In-Reply-To, and by the ticket number in the subject', async () => {
    expect(
      (
        await send({
          from: 'bob@acme.example',
          subject: 'Re: printer',
          text: 'Still broken.',
          inReplyTo: first.messageId,
        })
      ).code,
    ).toBe(250);
    expect(
      (await send({ from: 'carol@acme.example', subject: `Re: [${first.id}] printer`, text: 'Me too.' })).code,
    ).toBe(250);
    expect(await incidents()).toHaveLength(1);
    const comments = (await app.incidents.timeline(first.id))
      .filter((e) => e.kind === 'comment')
      .map((e) => String(e.data.text));
    expect(comments.some((t) => t.includes('Still broken.'))).toBe(true);
    expect(comments.some((t) => t.includes('Me too.'))).toBe(true);
    // Another client's sender naming this ticket opens a ticket of their own, never a comment here.
    expect((await send({ from: 'eve@globex.example', subject: `[${first.id}] hello`, text: 'x' })).code).toBe(250);
    const list = await incidents();
    expect(list).toHaveLength(2);
    expect(list.find((i) => i.id !== first.id)!.clientId).toBe(other);
  });

  it('drops auto-replies, bulk mail and our own mail coming back; refuses an unknown sender domain', async () => {
    const before = (await incidents()).length;
    for (const headers of [{ 'Auto-Submitted': 'auto-replied' }, { Precedence: 'bulk' }, { 'X-Autoreply': 'yes' }])
      expect((await send({ from: 'bob@acme.example', subject: 'Out of office', text: 'away', headers })).code).toBe(
        250,
      );
    const ours = await send({
      from: 'bob@acme.example',
      subject: 'loop',
      text: 'x',
      messageId: '<in_123.abc@outpost.acme.example>',
    });
    expect(ours.code).toBe(250);
    const stranger = await send({ from: 'mallory@elsewhere.example', subject: 'hi', text: 'x' });
    expect(stranger.code).toBe(550);
    expect((await incidents()).length).toBe(before);
  });

  it('refuses a 50 MB mail cleanly and survives malformed MIME', async () => {
    const before = (await incidents()).length;
    const huge = await send({
      from: 'bob@acme.example',
      subject: 'huge',
      text: 'see attachment',
      attachments: [{ filename: 'huge.bin', content: Buffer.alloc(50 * 1024 * 1024, 7) }],
    });
    expect(huge.ok).toBe(false);
    expect(huge.code).toBe(552);
    const raw = [
      'From: bob@acme.example',
      'To: helpdesk@support.example',
      'Subject: =?broken?Q?',
      'Content-Type: multipart/mixed; boundary="never-closed"',
      '',
      '--never-closed',
      'Content-Type: text/plain; charset=no-such-charset',
      'Content-Transfer-Encoding: base64',
      '',
      '@@@not base64@@@',
      '',
    ].join('\r\n');
    const malformed = await smtp
      .sendMail({ envelope: { from: 'bob@acme.example', to: ['helpdesk@support.example'] }, raw })
      .then(
        () => 250,
        (e: { responseCode?: number }) => e.responseCode,
      );
    expect([250, 554]).toContain(malformed);
    // Still serving: the next mail files.
    expect((await send({ from: 'bob@acme.example', subject: 'after', text: 'ok' })).code).toBe(250);
    expect((await incidents()).length).toBeGreaterThan(before);
    expect(existsSync(join(dir, 'data', 'outpost.db'))).toBe(true);
  });
});
