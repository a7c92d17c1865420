/**
 * The self-service routes on a real collector (buildApp on a temp dir, real SQLite) through `inject`, with the
 * sign-in links mailed to a real SMTP relay on loopback (smtp-server): the same answer for a known and an unknown
 * address, single-use and expiring links, the per-address and per-IP limits, sessions apart from the technicians'
 * (a bearer token is nothing here, the user's cookie nothing on the API), CSRF, bounded comments, a user's view
 * limited to their own tickets and to the public part of the timeline, confirmation of a resolution, sign-out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import { startRelay, type TestRelay } from './smtp.fixture.js';

const ORIGIN = 'http://help.test';
const SYSTEM = { kind: 'system', id: 'system' } as const;
let app: Collector;
let dir: string;
let relay: TestRelay;
/** Added to the collector's clock: a link "15 minutes later" without waiting 15 minutes. */
let skew = 0;
let clientId: string;
let adminToken: string;
let alice: { cookie: string; csrf: string };
let aliceTicket: string;
let bobTicket: string;

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const post = (url: string, body: Record<string, string>, o: { cookie?: string; ip?: string; origin?: string } = {}) =>
  app.api.inject({
    method: 'POST',
    url,
    payload: form(body),
    remoteAddress: o.ip ?? '10.0.0.1',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: o.origin ?? ORIGIN,
      ...(o.cookie ? { cookie: o.cookie } : {}),
    },
  });
const get = (url: string, headers: Record<string, string> = {}) => app.api.inject({ method: 'GET', url, headers });
const linksTo = (to: string) =>
  relay.sent
    .filter((m) => (m.to && 'text' in m.to ? m.to.text : '') === to)
    .map((m) => /https?:\/\/\S+\/help\/link\?t=([\w-]+)/.exec(m.text ?? '')?.[1] ?? '');

/** Asks for a link for `email` and returns the token the mail carried. */
async function linkFor(email: string, ip: string): Promise<string> {
  const before = linksTo(email).length;
  expect((await post('/help/sign-in', { email }, { ip })).statusCode).toBe(200);
  await relay.until(() => linksTo(email).length > before);
  return linksTo(email).at(-1)!;
}

/** Signs in with a fresh link: the cookie header and the session's CSRF token read from the page. */
async function signIn(email: string, ip: string): Promise<{ cookie: string; csrf: string }> {
  const r = await post('/help/link', { t: await linkFor(email, ip) }, { ip });
  expect(r.statusCode).toBe(303);
  const cookie = String(r.headers['set-cookie']).split(';')[0]!;
  const home = await get('/help/', { cookie });
  const csrf = /name="csrf" value="([^"]+)"/.exec(home.body)?.[1];
  expect(csrf).toBeTruthy();
  return { cookie, csrf: csrf! };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-self-'));
  relay = await startRelay();
  const settings = checkSettings({
    dataDir: join(dir, 'data'),
    tls: { enabled: false },
    log: { level: 'silent' },
    requests: {
      email: {
        port: 0,
        domains: {},
        relay: {
          host: '127.0.0.1',
          port: relay.port,
          from: 'Helpdesk <helpdesk@support.example>',
        },
      },
      selfService: { url: ORIGIN, linksPerAddress: 3, linksPerIp: 8 },
    },
  });
  app = await buildApp({
    ...settings,
    clock: { now: () => Date.now() + skew },
    logger: pino({ level: process.env.OUTPOST_TEST_LOG ?? 'silent' }),
  });
  clientId = (await app.tenants.createClient(SYSTEM, 'Acme')).id;
  await app.tenants.createSite(SYSTEM, clientId, 'HQ', 'Europe/Paris');
  // Alice is in the directory (her ticket came by Slack); Bob only ever gave his address on a phone call.
  await app.requests.addRequester(SYSTEM, clientId, {
    name: 'Alice',
    email: 'Alice@acme.example',
    handles: ['slack:U1'],
  });
  aliceTicket = (
    await app.requests.file({
      clientId,
      channel: 'slack',
      text: 'Printer <script>alert(1)</script> jammed',
      requester: { name: 'alice', handle: 'slack:U1' },
    })
  ).incident.id;
  bobTicket = (
    await app.requests.file({
      clientId,
      channel: 'phone',
      text: 'VPN drops every hour',
      requester: { name: 'Bob', email: 'bob@acme.example' },
    })
  ).incident.id;
  const login = await app.api.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: app.initialAdmin!.email, password: app.initialAdmin!.password },
  });
  adminToken = login.json<{ token: string }>().token;
});

afterAll(async () => {
  await app?.close();
  await relay?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('signing in by a mailed link', () => {
  it('answers a known and an unknown address alike, and mails only the known one', async () => {
    const known = await post('/help/sign-in', { email: 'ALICE@acme.example' }, { ip: '10.0.1.1' });
    const unknown = await post('/help/sign-in', { email: 'mallory@acme.example' }, { ip: '10.0.1.1' });
    expect(known.statusCode).toBe(200);
    expect(unknown.statusCode).toBe(200);
    expect(unknown.body).toBe(known.body);
    await relay.until(() => linksTo('alice@acme.example').length === 1);
    expect(linksTo('mallory@acme.example')).toHaveLength(0);
    const mail = relay.sent.find((m) => (m.to && 'text' in m.to ? m.to.text : '') === 'alice@acme.example')!;
    expect(mail.text).toContain(`${ORIGIN}/help/link?t=`);
    expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
  });

  it('a link signs in once, with a cookie of its own; a used or expired one is refused', async () => {
    const token = await linkFor('bob@acme.example', '10.0.2.1');
    // Opening the link spends nothing (a mail scanner may fetch it): the page's button does.
    expect((await get(`/help/link?t=${token}`)).body).toContain('name="t"');
    const r = await post('/help/link', { t: token }, { ip: '10.0.2.1' });
    expect(r.statusCode).toBe(303);
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/^outpost_help=[\w-]{43}; Path=\/help; HttpOnly; SameSite=Strict; Expires=/);
    const again = await post('/help/link', { t: token }, { ip: '10.0.2.1' });
    expect(again.statusCode).toBe(401);
    expect(again.headers['x-outpost-error']).toBe('OUTPOST_E_SELF_LINK_INVALID');
    expect(again.body).toContain('OUTPOST_E_SELF_LINK_INVALID');
    const late = await linkFor('bob@acme.example', '10.0.2.2');
    skew += 16 * 60_000;
    try {
      const expired = await post('/help/link', { t: late }, { ip: '10.0.2.2' });
      expect(expired.statusCode).toBe(401);
      expect(expired.headers['x-outpost-error']).toBe('OUTPOST_E_SELF_LINK_INVALID');
    } finally {
      skew -= 16 * 60_000;
    }
    expect((await post('/help/link', { t: 'made-up' }, { ip: '10.0.2.2' })).statusCode).toBe(401);
  });

  it('limits links per address and per network address, known or not', async () => {
    for (const email of ['carol@acme.example', 'nobody@acme.example']) {
      for (let i = 0; i < 3; i++)
        expect((await post('/help/sign-in', { email }, { ip: `10.0.3.${i}` })).statusCode).toBe(200);
      const fourth = await post('/help/sign-in', { email }, { ip: '10.0.3.9' });
      expect(fourth.statusCode).toBe(429);
      expect(fourth.headers['x-outpost-error']).toBe('OUTPOST_E_SELF_THROTTLED');
      expect(Number(fourth.headers['retry-after'])).toBeGreaterThan(0);
    }
    for (let i = 0; i < 8; i++)
      expect((await post('/help/sign-in', { email: `u${i}@x.example` }, { ip: '10.0.4.1' })).statusCode).toBe(200);
    expect((await post('/help/sign-in', { email: 'u9@x.example' }, { ip: '10.0.4.1' })).statusCode).toBe(429);
  });

  it('refuses a sign-in form from another origin and a malformed address with coded errors', async () => {
    const cross = await post(
      '/help/sign-in',
      { email: 'alice@acme.example' },
      { ip: '10.0.5.1', origin: 'https://evil.example' },
    );
    expect(cross.statusCode).toBe(403);
    expect(cross.headers['x-outpost-error']).toBe('OUTPOST_E_CSRF_REFUSED');
    const bad = await post('/help/sign-in', { email: 'not an address' }, { ip: '10.0.5.1' });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['x-outpost-error']).toBe('OUTPOST_E_BAD_REQUEST');
  });
});

describe('a signed-in user', () => {
  beforeAll(async () => {
    alice = await signIn('alice@acme.example', '10.0.6.1');
  });

  it('sees only their own tickets, titles as text; another user’s ticket answers as an unknown one', async () => {
    const home = await get('/help/', { cookie: alice.cookie });
    expect(home.body).toContain(aliceTicket);
    expect(home.body).not.toContain(bobTicket);
    expect(home.body).not.toContain('<script>alert(1)');
    expect(home.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    const other = await get(`/help/tickets/${bobTicket}`, { cookie: alice.cookie });
    const unknown = await get('/help/tickets/in_000000000000', { cookie: alice.cookie });
    expect(other.statusCode).toBe(404);
    expect(unknown.statusCode).toBe(404);
    expect(other.headers['x-outpost-error']).toBe('OUTPOST_E_NOT_FOUND');
    expect(other.body.replace(bobTicket, 'ID')).toBe(unknown.body.replace('in_000000000000', 'ID'));
    // Nor can she comment on it.
    const c = await post(
      `/help/tickets/${bobTicket}/comments`,
      { csrf: alice.csrf, text: 'hi' },
      { cookie: alice.cookie },
    );
    expect(c.statusCode).toBe(404);
  });

  it('sees the comments for them and never the internal ones', async () => {
    await app.incidents.comment(SYSTEM, aliceTicket, 'internal: user is on the VIP list, be nice');
    await app.api.inject({
      method: 'POST',
      url: `/api/v1/incidents/${aliceTicket}/comment`,
      headers: { authorization: `Bearer ${adminToken}` },
      payload: { text: 'We ordered a new fuser', public: true },
    });
    const page = await get(`/help/tickets/${aliceTicket}`, { cookie: alice.cookie });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('We ordered a new fuser');
    expect(page.body).not.toContain('internal: user is on the VIP list');
    expect(page.body).not.toContain('VIP');
  });

  it('comments with the CSRF token, bounded; without it the change is refused', async () => {
    const ok = await post(
      `/help/tickets/${aliceTicket}/comments`,
      { csrf: alice.csrf, text: 'It jams <b>again</b>' },
      { cookie: alice.cookie },
    );
    expect(ok.statusCode).toBe(303);
    const tl = await app.incidents.timeline(aliceTicket);
    expect(tl.at(-1)).toMatchObject({
      kind: 'comment',
      data: { text: 'It jams <b>again</b>', public: true, requester: 'alice@acme.example' },
    });
    const page = await get(`/help/tickets/${aliceTicket}`, { cookie: alice.cookie });
    expect(page.body).toContain('It jams &#60;b&#62;again&#60;/b&#62;');
    const before = tl.length;
    const noCsrf = await post(`/help/tickets/${aliceTicket}/comments`, { text: 'forged' }, { cookie: alice.cookie });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.headers['x-outpost-error']).toBe('OUTPOST_E_CSRF_REFUSED');
    const wrong = await post(
      `/help/tickets/${aliceTicket}/comments`,
      { csrf: 'x'.repeat(43), text: 'forged' },
      { cookie: alice.cookie },
    );
    expect(wrong.statusCode).toBe(403);
    const cross = await post(
      `/help/tickets/${aliceTicket}/comments`,
      { csrf: alice.csrf, text: 'forged' },
      { cookie: alice.cookie, origin: 'https://evil.example' },
    );
    expect(cross.statusCode).toBe(403);
    const long = await post(
      `/help/tickets/${aliceTicket}/comments`,
      { csrf: alice.csrf, text: 'x'.repeat(4001) },
      { cookie: alice.cookie },
    );
    expect(long.statusCode).toBe(400);
    expect(long.headers['x-outpost-error']).toBe('OUTPOST_E_BAD_REQUEST');
    const huge = await post(
      `/help/tickets/${aliceTicket}/comments`,
      { csrf: alice.csrf, text: 'x'.repeat(100_000) },
      { cookie: alice.cookie },
    );
    expect(huge.statusCode).toBe(413);
    expect((await app.incidents.timeline(aliceTicket)).length).toBe(before);
  });

  it('keeps the two kinds of session apart', async () => {
    const bearer = await get(`/help/tickets/${aliceTicket}`, { authorization: `Bearer ${adminToken}` });
    expect(bearer.statusCode).toBe(401);
    expect(bearer.headers['x-outpost-error']).toBe('OUTPOST_E_UNAUTHENTICATED');
    const token = alice.cookie.split('=')[1]!;
    for (const cookie of [alice.cookie, `outpost_session=${token}`]) {
      const api = await get('/api/v1/incidents', { cookie });
      expect(api.statusCode).toBe(401);
      expect(api.json<{ error: { code: string } }>().error.code).toBe('OUTPOST_E_UNAUTHENTICATED');
    }
  });

  it('a user session opens no technician route at all (every non-public route, either cookie name)', async () => {
    const token = alice.cookie.split('=')[1]!;
    const routes = app.routes.filter((r) => !r.public);
    expect(routes.length).toBeGreaterThan(50);
    for (const r of routes) {
      const url = r.url.replace(/:(\w+)/g, 'x_$1').replace('*', 'x');
      for (const cookie of [alice.cookie, `outpost_session=${token}`]) {
        const res = await app.api.inject({
          method: r.method as 'GET',
          url,
          headers: { cookie, origin: ORIGIN, ...(r.method === 'GET' ? {} : { 'content-type': 'application/json' }) },
          ...(r.method === 'GET' ? {} : { payload: '{}' }),
        });
        expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      }
    }
    // And the self-service routes are all public to the technicians' hook: they check the user's cookie themselves.
    expect(app.routes.filter((r) => r.url.startsWith('/help')).every((r) => r.public)).toBe(true);
  });

  it('confirms a resolution: fixed closes the ticket, still broken reopens it', async () => {
    await app.incidents.resolve(SYSTEM, aliceTicket, 'Fuser replaced', 'hardware');
    const page = await get(`/help/tickets/${aliceTicket}`, { cookie: alice.cookie });
    expect(page.body).toContain('Fuser replaced');
    expect(page.body).toContain('value="fixed"');
    const fixed = await post(
      `/help/tickets/${aliceTicket}/confirm`,
      { csrf: alice.csrf, answer: 'fixed' },
      { cookie: alice.cookie },
    );
    expect(fixed.statusCode).toBe(303);
    expect((await app.incidents.get(aliceTicket))?.status).toBe('closed');
    // A closed ticket cannot be confirmed again.
    const twice = await post(
      `/help/tickets/${aliceTicket}/confirm`,
      { csrf: alice.csrf, answer: 'broken' },
      { cookie: alice.cookie },
    );
    expect(twice.statusCode).toBe(409);
    expect(twice.headers['x-outpost-error']).toBe('OUTPOST_E_TRANSITION_INVALID');
    const second = (
      await app.requests.file({
        clientId,
        channel: 'slack',
        text: 'Screen flickers',
        requester: { name: 'a', handle: 'slack:U1' },
      })
    ).incident.id;
    await app.incidents.resolve(SYSTEM, second, 'Cable reseated', 'hardware');
    const broken = await post(
      `/help/tickets/${second}/confirm`,
      { csrf: alice.csrf, answer: 'broken' },
      { cookie: alice.cookie },
    );
    expect(broken.statusCode).toBe(303);
    const inc = await app.incidents.get(second);
    expect(inc?.status).not.toBe('resolved');
    expect(inc?.reopenCount).toBe(1);
    const bad = await post(
      `/help/tickets/${second}/confirm`,
      { csrf: alice.csrf, answer: 'maybe' },
      { cookie: alice.cookie },
    );
    expect(bad.statusCode).toBe(400);
  });

  it('signs out server-side: the same cookie is worth nothing afterwards', async () => {
    const r = await post('/help/sign-out', { csrf: alice.csrf }, { cookie: alice.cookie });
    expect(r.statusCode).toBe(200);
    expect(String(r.headers['set-cookie'])).toContain('Max-Age=0');
    const after = await get(`/help/tickets/${aliceTicket}`, { cookie: alice.cookie });
    expect(after.statusCode).toBe(401);
    expect((await get('/help/', { cookie: alice.cookie })).body).toContain('Send me a sign-in link');
  });
});
