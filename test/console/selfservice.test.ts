/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Page functions (page.evaluate) run in the browser: they are typed against the DOM.
/**
 * The users' self-service page (docs/0014-requests.md, "Self-service") in a real Chromium against a real collector
 * (TLS, SQLite), the sign-in link received at a real SMTP relay (smtp-server) on loopback: a user types their
 * address, opens the mailed link, signs in, sees their own ticket only (its `<script>` title as text), comments,
 * confirms the technician's resolution; another user's ticket id answers not found; a used link and an expired one
 * are refused; a technician's bearer token on the self routes and the user's cookie on a technician route are
 * refused; signing out ends the session. axe-core and the CSP watched on the pages.
 */
import { apiCall } from '@outpost/collector';
import { type BrowserContext, type Page, request } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { freePort } from '../support/process-collector.js';
import {
  axeViolations,
  browserTestSetup,
  cspViolations,
  launchChromium,
  type PageTrouble,
  recordCspViolations,
  watch,
} from './browser.js';

const { chromiumPath, skipWhy } = browserTestSetup('test/console/selfservice');
const SYSTEM = { kind: 'system', id: 'system' } as const;

let c: TestCollector;
let relay: SMTPServer;
/** What the relay received: the envelope recipient and the raw message, quoted-printable soft breaks undone. */
const sent: { to: string; text: string }[] = [];
/** Added to the collector's clock, so a link can be 16 minutes old without waiting. */
let skew = 0;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;
let page: Page;
let trouble: PageTrouble;
let aliceTicket: string;
let carolTicket: string;
let usedLink: string;

const url = (path: string) => new URL(path, c.apiUrl).href;
const linksTo = (to: string) =>
  sent.filter((m) => m.to === to).map((m) => /https?:\/\/\S+\/help\/link\?t=[\w-]+/.exec(m.text)?.[0] ?? '');

/** Polls until the relay holds `n` links for `to` (mail arrives asynchronously). */
async function mailedLink(to: string, n: number): Promise<string> {
  const end = Date.now() + 10_000;
  // Polling an outcome: each round waits 50 ms only while the mail is not there yet.
  while (linksTo(to).length < n) {
    if (Date.now() > end) throw new Error(`no link mailed to ${to}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return linksTo(to)[n - 1]!;
}

/** Asks for a link on the page, as a user does. */
async function askLink(email: string): Promise<void> {
  await page.goto(url('/help/'));
  await page.getByLabel('E-mail address').fill(email);
  await page.getByRole('button', { name: 'Send me a sign-in link' }).click();
  await page.getByRole('heading', { name: 'Check your mailbox' }).waitFor();
}

describe.skipIf(!!skipWhy)(`self-service page in Chromium ${skipWhy}`, () => {
  beforeAll(async () => {
    relay = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (b: Buffer) => chunks.push(b));
        stream.on('end', () => {
          // The link may be wrapped by quoted-printable (lines over 76 characters): `=` at a line end joins lines.
          const text = Buffer.concat(chunks)
            .toString('utf8')
            .replace(/=\r?\n/g, '')
            .replace(/=3D/g, '=');
          for (const rcpt of session.envelope.rcptTo) sent.push({ to: rcpt.address, text });
          cb();
        });
      },
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    // The mailed link names the collector's address, so the port is chosen before it starts.
    const port = await freePort();
    // Settings as a file gives them (checkSettings fills the defaults), hence the looser type than CollectorSettings.
    const settings: Record<string, unknown> = {
      api: { host: '127.0.0.1', port },
      requests: {
        email: {
          port: 0,
          domains: {},
          relay: {
            host: '127.0.0.1',
            port: (relay.server.address() as { port: number }).port,
            from: 'Helpdesk <helpdesk@support.example>',
          },
        },
        selfService: { url: `https://127.0.0.1:${port}` },
      },
    };
    c = await startTestCollector(settings, { clock: { now: () => Date.now() + skew } });
    const requests = c.collector.requests;
    await requests.addRequester(SYSTEM, c.clientId, { name: 'Alice', email: 'alice@acme.example' });
    await requests.addRequester(SYSTEM, c.clientId, { name: 'Carol', email: 'carol@acme.example' });
    aliceTicket = (
      await requests.file({
        clientId: c.clientId,
        channel: 'phone',
        text: 'Printer <img src=x onerror=alert(1)> jammed',
        requester: { name: 'Alice', email: 'alice@acme.example' },
      })
    ).incident.id;
    carolTicket = (
      await requests.file({
        clientId: c.clientId,
        channel: 'phone',
        text: 'Salary spreadsheet will not open',
        requester: { name: 'Carol', email: 'carol@acme.example' },
      })
    ).incident.id;
    browser = await launchChromium(chromiumPath!);
    context = browser.context;
    await recordCspViolations(context);
    page = await context.newPage();
    trouble = watch(page);
  });

  afterAll(async () => {
    await browser?.[Symbol.asyncDispose]();
    await c?.[Symbol.asyncDispose]();
    await new Promise<void>((r) => relay?.close(() => r()));
  });

  it('signs in by the mailed link and lists the user’s own tickets only', async () => {
    await page.goto(url('/help/'));
    expect(await axeViolations(page)).toEqual([]);
    await askLink('alice@acme.example');
    usedLink = await mailedLink('alice@acme.example', 1);
    expect(usedLink.startsWith(`${c.apiUrl.replace(/\/$/, '')}/help/link?t=`)).toBe(true);
    await page.goto(usedLink);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Your requests' }).waitFor();
    const cookie = (await context.cookies()).find((k) => k.name === 'outpost_help');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/help' });
    const rows = await page.locator('tbody tr').allInnerTexts();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(aliceTicket);
    expect(rows[0]).toContain('<img src=x onerror=alert(1)>');
    expect(await page.locator('img').count()).toBe(0);
    expect(await axeViolations(page)).toEqual([]);
  });

  it('follows a ticket, comments, and confirms the resolution', async () => {
    await page.getByRole('link', { name: aliceTicket }).click();
    await page.getByRole('heading', { name: `Ticket ${aliceTicket}` }).waitFor();
    await page.getByLabel('Your comment').fill('It now jams on every <b>second</b> page');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('ol.timeline li.you', { hasText: 'every <b>second</b> page' }).waitFor();
    // In the technicians' console (same browser, its own session), the desk answers the user and keeps a note for
    // itself, then resolves.
    const tech = await context.newPage();
    try {
      await tech.goto(url('/login'));
      await tech.fill('#email', c.collector.initialAdmin!.email);
      await tech.fill('#password', c.collector.initialAdmin!.password);
      await tech.click('button[type=submit]');
      await tech.waitForURL(/\/fleet/);
      await tech.goto(url(`/incidents/${aliceTicket}`));
      await tech.getByLabel('Comment', { exact: true }).fill('New fuser ordered');
      await tech.getByLabel('For the requester').check();
      await tech.getByRole('button', { name: 'Add comment' }).click();
      await tech.locator('ol.timeline li', { hasText: 'public comment: New fuser ordered' }).waitFor();
      await tech.getByLabel('Comment', { exact: true }).fill('internal: check the warranty');
      await tech.getByRole('button', { name: 'Add comment' }).click();
      await tech.locator('ol.timeline li', { hasText: 'comment: internal: check the warranty' }).waitFor();
      // The requester's own comment is marked as theirs for the technicians.
      expect(await tech.locator('ol.timeline').textContent()).toContain('requester comment: It now jams');
    } finally {
      await tech.close();
    }
    await apiCall(c.admin, 'POST', `/api/v1/incidents/${aliceTicket}/resolve`, {
      note: 'Fuser replaced',
      category: 'hardware',
    });
    await page.reload();
    const history = (await page.locator('ol.timeline').textContent()) ?? '';
    expect(history).toContain('New fuser ordered');
    expect(history).toContain('Resolved: Fuser replaced');
    expect(history).not.toContain('warranty');
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Yes, it is fixed' }).click();
    await page.locator('#status', { hasText: 'Closed' }).waitFor();
    const after = await apiCall<{ incident: { status: string } }>(c.admin, 'GET', `/api/v1/incidents/${aliceTicket}`);
    expect(after.incident.status).toBe('closed');
  });

  it('answers another user’s ticket exactly as an unknown one', async () => {
    const other = await page.goto(url(`/help/tickets/${carolTicket}`));
    expect(other?.status()).toBe(404);
    expect(await page.locator('code').textContent()).toBe('OUTPOST_E_NOT_FOUND');
    expect(await page.locator('body').textContent()).not.toContain('Salary');
    const unknown = await page.goto(url('/help/tickets/in_000000000000'));
    expect(unknown?.status()).toBe(404);
  });

  it('refuses a used link and an expired one', async () => {
    await page.goto(usedLink);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.locator('code').textContent()).toBe('OUTPOST_E_SELF_LINK_INVALID');
    // Asked from outside this browser, whose session (still signed in) the later cases use.
    const api = await request.newContext({ ignoreHTTPSErrors: true });
    try {
      const asked = await api.post(url('/help/sign-in'), {
        form: { email: 'alice@acme.example' },
        headers: { origin: new URL(c.apiUrl).origin },
      });
      expect(asked.status()).toBe(200);
    } finally {
      await api.dispose();
    }
    const late = await mailedLink('alice@acme.example', 2);
    skew = 16 * 60_000;
    try {
      await page.goto(late);
      await page.getByRole('button', { name: 'Sign in' }).click();
      expect(await page.locator('code').textContent()).toBe('OUTPOST_E_SELF_LINK_INVALID');
    } finally {
      skew = 0;
    }
  });

  it('refuses a technician token on the self routes and the user cookie on a technician route', async () => {
    const session = (await context.cookies()).find((k) => k.name === 'outpost_help')!.value;
    const api = await request.newContext({ ignoreHTTPSErrors: true });
    try {
      const bearer = await api.get(url(`/help/tickets/${aliceTicket}`), {
        headers: { authorization: `Bearer ${c.admin.token}` },
      });
      expect(bearer.status()).toBe(401);
      expect(bearer.headers()['x-outpost-error']).toBe('OUTPOST_E_UNAUTHENTICATED');
      for (const cookie of [`outpost_help=${session}`, `outpost_session=${session}`]) {
        const r = await api.get(url('/api/v1/incidents'), { headers: { cookie } });
        expect(r.status()).toBe(401);
      }
    } finally {
      await api.dispose();
    }
  });

  it('signs out, ending the session on the server', async () => {
    const session = (await context.cookies()).find((k) => k.name === 'outpost_help')!.value;
    await page.goto(url('/help/'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Send me a sign-in link' }).waitFor();
    const api = await request.newContext({ ignoreHTTPSErrors: true });
    try {
      const r = await api.get(url(`/help/tickets/${aliceTicket}`), { headers: { cookie: `outpost_help=${session}` } });
      expect(r.status()).toBe(401);
    } finally {
      await api.dispose();
    }
    expect(trouble.dialogs).toEqual([]);
    expect(trouble.pageErrors).toEqual([]);
    expect(await cspViolations(page)).toEqual([]);
  });
});
