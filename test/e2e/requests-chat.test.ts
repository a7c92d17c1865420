/**
 * Users reaching support by Slack, Teams and phone (docs/0014-requests.md), with real HTTP on loopback: an in-process
 * collector configured with a Slack signing secret and a Teams webhook secret, a fake Slack `response_url` server,
 * and the real `outpost` CLI for a logged phone call. Correctly signed requests become tickets (the reply reaches the
 * response_url, or the Teams response); forged, replayed and stale ones get a coded 401 and file nothing; a
 * response_url outside the allowed prefixes is never called; HTML in a message stays text.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type ApiTarget, apiCall, buildApp, type Collector, checkSettings } from '@outpost/collector';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackSignature, teamsAuthorization } from '../../collector/src/requests/signatures.js';
import { outpostBin, tempDir } from '../support/collector.js';
import { until } from '../support/supervised-agent.js';

const SLACK_SECRET = 'slack-signing-secret-for-tests-0123';
const TEAMS_SECRET = Buffer.from('teams outgoing webhook secret for tests').toString('base64');
type Json = Record<string, unknown>;

let app: Collector;
let apiUrl: string;
let admin: ApiTarget;
let clientId: string;
const dir = tempDir('e2e-chat');
let hook: Server;
let hookUrl: string;
const replies: Json[] = [];
let settings: ReturnType<typeof checkSettings>;

const count = async () => (await apiCall<{ total: number }>(admin, 'GET', '/api/v1/incidents')).total;

/** POSTs a raw body to the collector with the given headers. */
async function post(path: string, body: string, headers: Record<string, string>) {
  const r = await fetch(`${apiUrl}${path}`, { method: 'POST', body, headers });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text) as Json };
}

function slackForm(fields: Record<string, string>) {
  return new URLSearchParams({
    team_id: 'T0ACME',
    user_id: 'U0BOB',
    user_name: 'bob',
    command: '/helpdesk',
    response_url: `${hookUrl}/commands/1`,
    trigger_id: `${Date.now()}.${Math.random().toString().slice(2, 10)}`,
    ...fields,
  }).toString();
}

const slackHeaders = (body: string, ts = Math.floor(Date.now() / 1000), secret = SLACK_SECRET) => ({
  'content-type': 'application/x-www-form-urlencoded',
  'x-slack-request-timestamp': String(ts),
  'x-slack-signature': slackSignature(secret, ts, body),
});

beforeAll(async () => {
  hook = createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      replies.push({ path: req.url, body: JSON.parse(b) as Json });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
  // The configuration maps the Slack workspace and the Teams webhook to a client, which exists only once the collector
  // runs: the settings object is built here, the collector keeps a reference to it, and the mapping is filled in
  // once the client is created (what an admin does by editing the file and restarting).
  settings = checkSettings({
    dataDir: join(dir.path, 'data'),
    api: { host: '127.0.0.1', port: 0 },
    tls: { enabled: false },
    log: { level: 'silent' },
    requests: {
      slack: { signingSecret: SLACK_SECRET, workspaces: {}, responseUrlPrefixes: [`${hookUrl}/`] },
      teams: { webhooks: [{ secret: TEAMS_SECRET, clientId: 'cl_unset' }] },
    },
  });
  app = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
  await app.api.listen({ host: '127.0.0.1', port: 0 });
  apiUrl = `http://127.0.0.1:${(app.api.server.address() as AddressInfo).port}`;
  const login = await apiCall<{ token: string }>({ server: apiUrl }, 'POST', '/api/v1/auth/login', {
    email: app.initialAdmin!.email,
    password: app.initialAdmin!.password,
  });
  admin = { server: apiUrl, token: login.token };
  clientId = (await apiCall<{ id: string }>(admin, 'POST', '/api/v1/clients', { name: 'Acme' })).id;
  await apiCall(admin, 'POST', `/api/v1/clients/${clientId}/sites`, { name: 'HQ', timezone: 'Europe/Paris' });
  settings.requests.slack!.workspaces.T0ACME = clientId;
  settings.requests.teams!.webhooks[0]!.clientId = clientId;
}, 60_000);

afterAll(async () => {
  await app?.close();
  dir[Symbol.dispose]();
  await new Promise((r) => hook?.close(r));
});

describe('Slack', () => {
  it('files a signed slash command and replies on the response_url', async () => {
    const body = slackForm({ text: 'Printer <b>offline</b> <!channel>' });
    const r = await post('/api/v1/chat/slack/commands', body, slackHeaders(body));
    expect(r.status, r.text).toBe(200);
    expect(r.json()).toMatchObject({ response_type: 'ephemeral' });
    await until(() => replies.length === 1, 10_000, 'the Slack reply');
    const text = (replies[0]!.body as { text: string }).text;
    const id = /Ticket (in_[0-9a-f]+)/.exec(text)![1]!;
    // The requester's markup comes back as text, never as a Slack mention.
    expect(text).toContain('&lt;!channel&gt;');
    const inc = await apiCall<{ incident: Json }>(admin, 'GET', `/api/v1/incidents/${id}`);
    expect(inc.incident).toMatchObject({ channel: 'slack', clientId: clientId });
    expect(inc.incident.title).toBe('Slack request from bob: Printer <b>offline</b> <!channel>');
  });

  it('refuses a forged signature, a replay and a stale timestamp with coded 401s, filing nothing', async () => {
    const before = await count();
    const body = slackForm({ text: 'forged' });
    const forged = await post('/api/v1/chat/slack/commands', body, slackHeaders(body, undefined, 'x'.repeat(32)));
    expect(forged.status).toBe(401);
    expect(forged.json()).toMatchObject({ error: { code: 'OUTPOST_E_CHAT_SIGNATURE' } });
    const tampered = await post('/api/v1/chat/slack/commands', body.replace('forged', 'tampered'), slackHeaders(body));
    expect(tampered.json()).toMatchObject({ error: { code: 'OUTPOST_E_CHAT_SIGNATURE' } });
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    const old = await post('/api/v1/chat/slack/commands', body, slackHeaders(body, stale));
    expect(old.status).toBe(401);
    expect(old.json()).toMatchObject({ error: { code: 'OUTPOST_E_CHAT_REPLAYED' } });
    const fresh = slackForm({ text: 'sent twice' });
    const h = slackHeaders(fresh);
    expect((await post('/api/v1/chat/slack/commands', fresh, h)).status).toBe(200);
    const again = await post('/api/v1/chat/slack/commands', fresh, h);
    expect(again.json()).toMatchObject({ error: { code: 'OUTPOST_E_CHAT_REPLAYED' } });
    await until(async () => (await count()) === before + 1, 10_000, 'the one genuine request filed');
    expect(await count()).toBe(before + 1);
  });

  it('files a message action into the thread, and never calls a response_url outside the allowed prefixes', async () => {
    const n = replies.length;
    const payload = {
      type: 'message_action',
      team: { id: 'T0ACME' },
      user: { id: 'U0ALICE', name: 'alice' },
      message: { text: 'VPN keeps dropping', ts: '1733300000.000100' },
      response_url: `${hookUrl}/actions/1`,
      trigger_id: '123.456',
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const r = await post('/api/v1/chat/slack/actions', body, slackHeaders(body));
    expect(r.status, r.text).toBe(200);
    await until(() => replies.length === n + 1, 10_000, 'the thread reply');
    expect(replies.at(-1)).toMatchObject({ path: '/actions/1', body: { thread_ts: '1733300000.000100' } });
    const before = await count();
    const elsewhere = slackForm({ text: 'call evil', response_url: 'http://169.254.169.254/latest/meta-data' });
    expect((await post('/api/v1/chat/slack/commands', elsewhere, slackHeaders(elsewhere))).status).toBe(200);
    await until(async () => (await count()) === before + 1, 10_000, 'the request filed');
    expect(replies.length).toBe(n + 1);
  });
});

describe('Teams', () => {
  const message = (text: string, at = new Date()) =>
    JSON.stringify({
      type: 'message',
      id: `${at.getTime()}${Math.random().toString().slice(2, 8)}`,
      timestamp: at.toISOString(),
      text,
      from: { id: '29:1abc', name: 'Carol' },
      channelData: { team: { id: '19:team' } },
    });

  it('files a signed outgoing-webhook message and answers in the response', async () => {
    const body = message('<at>Outpost</at> Outlook <i>crashes</i> at start');
    const r = await post('/api/v1/chat/teams', body, {
      'content-type': 'application/json',
      authorization: teamsAuthorization(TEAMS_SECRET, body),
    });
    expect(r.status, r.text).toBe(200);
    const reply = r.json() as { type: string; text: string };
    expect(reply.type).toBe('message');
    const id = /Ticket (in_[0-9a-f]+)/.exec(reply.text)![1]!;
    const inc = await apiCall<{ incident: Json }>(admin, 'GET', `/api/v1/incidents/${id}`);
    expect(inc.incident).toMatchObject({
      channel: 'teams',
      title: 'Teams request from Carol: Outlook crashes at start',
    });
  });

  it("answers another client's webhook reusing a message id with a ticket of its own, never the first client's", async () => {
    const other = (await apiCall<{ id: string }>(admin, 'POST', '/api/v1/clients', { name: 'Globex' })).id;
    await apiCall(admin, 'POST', `/api/v1/clients/${other}/sites`, { name: 'Branch', timezone: 'UTC' });
    const otherSecret = Buffer.from('the second client teams webhook secret').toString('base64');
    settings.requests.teams!.webhooks.push({ secret: otherSecret, clientId: other });
    const first = message('<at>Outpost</at> Payroll export fails for the March run');
    const sent = async (body: string, secret: string) => {
      const r = await post('/api/v1/chat/teams', body, {
        'content-type': 'application/json',
        authorization: teamsAuthorization(secret, body),
      });
      expect(r.status, r.text).toBe(200);
      const id = /Ticket (in_[0-9a-f]+)/.exec((r.json() as { text: string }).text)![1]!;
      return { id, text: (r.json() as { text: string }).text };
    };
    const mine = await sent(first, TEAMS_SECRET);
    // The second client's webhook signs a message carrying the first one's id (a Teams id is a timestamp, guessable).
    const copy = JSON.stringify({ ...(JSON.parse(first) as Json), text: '<at>Outpost</at> anything' });
    const theirs = await sent(copy, otherSecret);
    expect(theirs.id).not.toBe(mine.id);
    expect(theirs.text).not.toContain('Payroll');
    const inc = await apiCall<{ incident: Json }>(admin, 'GET', `/api/v1/incidents/${theirs.id}`);
    expect(inc.incident).toMatchObject({ clientId: other, channel: 'teams' });
    // The first client's resend is still its one ticket.
    expect((await sent(first, TEAMS_SECRET)).id).toBe(mine.id);
  });

  it('refuses a forged or stale Teams message, filing nothing', async () => {
    const before = await count();
    const body = message('forged');
    const forged = await post('/api/v1/chat/teams', body, {
      'content-type': 'application/json',
      authorization: teamsAuthorization(Buffer.from('another secret entirely!').toString('base64'), body),
    });
    expect(forged.status).toBe(401);
    expect(forged.json()).toMatchObject({ error: { code: 'OUTPOST_E_CHAT_SIGNATURE' } });
    const none = await post('/api/v1/chat/teams', body, { 'content-type': 'application/json' });
    expect(none.json()).toMatchObject({ error: { code: 'OUTPOST_E_CHAT_SIGNATURE' } });
    const staleBody = message('old', new Date(Date.now() - 10 * 60_000));
    const stale = await post('/api/v1/chat/teams', staleBody, {
      'content-type': 'application/json',
      authorization: teamsAuthorization(TEAMS_SECRET, staleBody),
    });
    expect(stale.json()).toMatchObject({ error: { code: 'OUTPOST_E_CHAT_REPLAYED' } });
    expect(await count()).toBe(before);
  });
});

describe('outpost incidents log-call', () => {
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(
        process.execPath,
        [outpostBin, '--server', apiUrl, '--token', admin.token!, 'incidents', ...args],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('close', (code) => resolve({ code, out, err }));
    });

  it('opens a phone ticket in one command; bad flags are refused with a clear error', async () => {
    const r = await cli([
      'log-call',
      '--client',
      clientId,
      '--requester',
      'Dave',
      '--phone',
      '+33 1 23 45 67 89',
      'No sound in meetings',
    ]);
    expect(r.code, r.err).toBe(0);
    const id = /^(in_[0-9a-f]+)\s+open/m.exec(r.out)![1]!;
    const inc = await apiCall<{ incident: Json }>(admin, 'GET', `/api/v1/incidents/${id}`);
    expect(inc.incident).toMatchObject({ channel: 'phone', title: 'Phone request from Dave: No sound in meetings' });
    const badCrit = await cli(['log-call', '--client', clientId, '--requester', 'Dave', '--criticality', 'P9', 'x']);
    expect(badCrit.code).not.toBe(0);
    expect(badCrit.err).toMatch(/P1, P2, P3 or P4/);
    const unknown = await cli(['log-call', '--client', 'cl_nobody', '--requester', 'Dave', 'x']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toContain('OUTPOST_E_NOT_FOUND');
  });
});
