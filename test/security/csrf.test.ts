/**
 * Cross-site request forgery (issue 17, item 4): a change authenticated by the session cookie must come from the
 * collector's (or the console's) origin and carry the session's CSRF token; bearer tokens are not affected. Real
 * sockets, with the headers a browser would send.
 */
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { rawRequest } from '../support/http.js';
import { enrolledIdentity } from '../support/raw-agent.js';

let c: TestCollector;
let cookie: string;
let csrf: string;
let own: string;
beforeAll(async () => {
  c = await startTestCollector({ sessions: { allowedOrigins: ['https://console.example'] } } as never);
  const login = await rawRequest(c.apiUrl, 'POST', '/api/v1/auth/login', {
    body: { email: c.collector.initialAdmin!.email, password: c.collector.initialAdmin!.password },
  });
  cookie = `theme=dark; outpost_session=${String(login.json.token)}`;
  csrf = String(login.json.csrfToken);
  own = new URL(c.apiUrl).origin;
});
afterAll(async () => c?.[Symbol.asyncDispose]());

async function newAgent(): Promise<string> {
  return (await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token)).agentId;
}
const revoke = (agentId: string, headers: Record<string, string>) =>
  rawRequest(c.apiUrl, 'POST', `/api/v1/agents/${agentId}/revoke`, { headers, body: {} });
const revoked = async (agentId: string) =>
  (await apiCall<{ revokedAt: number | null }>(c.admin, 'GET', `/api/v1/agents/${agentId}`)).revokedAt !== null;

describe('CSRF', () => {
  it('a forged cross-site POST with the session cookie is refused and changes nothing', async () => {
    const agentId = await newAgent();
    const forged: Record<string, string>[] = [
      // What a form on another site makes a browser send.
      { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      // Even with a stolen CSRF token, from another origin.
      { cookie, origin: 'https://evil.example', 'x-outpost-csrf': csrf },
      // No Origin: Sec-Fetch-Site, then Referer decide; with none of them, refused.
      { cookie, 'sec-fetch-site': 'same-site', 'x-outpost-csrf': csrf },
      { cookie, referer: 'https://evil.example/page', 'x-outpost-csrf': csrf },
      { cookie, 'x-outpost-csrf': csrf },
      // Same origin but without the token, or with a wrong one.
      { cookie, origin: own },
      { cookie, origin: own, 'x-outpost-csrf': `${csrf.slice(0, -2)}AA` },
      { cookie, origin: 'null', 'x-outpost-csrf': csrf },
    ];
    for (const headers of forged) {
      const res = await revoke(agentId, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.json.error?.code).toBe('OUTPOST_E_CSRF_REFUSED');
    }
    expect(await revoked(agentId)).toBe(false);
    const audit = await apiCall<{ events: { code: string }[] }>(c.admin, 'GET', '/api/v1/audit?type=auth.csrf');
    expect(audit.events.length).toBe(forged.length);
  });

  it('the console (same origin or a configured origin) with its token works', async () => {
    const consoles: Record<string, string>[] = [
      { cookie, origin: own, 'x-outpost-csrf': csrf },
      { cookie, origin: 'https://console.example', 'x-outpost-csrf': csrf },
      { cookie, 'sec-fetch-site': 'same-origin', 'x-outpost-csrf': csrf },
      { cookie, referer: `${own}/agents`, 'x-outpost-csrf': csrf },
    ];
    for (const headers of consoles) {
      const agentId = await newAgent();
      const res = await revoke(agentId, headers);
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(await revoked(agentId)).toBe(true);
    }
    // A reloaded console asks for its token again (a read, allowed with the cookie alone).
    const again = await rawRequest(c.apiUrl, 'GET', '/api/v1/auth/csrf', { headers: { cookie } });
    expect(again.json.csrfToken).toBe(csrf);
    // Reads need no token.
    expect((await rawRequest(c.apiUrl, 'GET', '/api/v1/agents', { headers: { cookie } })).status).toBe(200);
  });

  it('bearer tokens are not affected', async () => {
    const agentId = await newAgent();
    const res = await revoke(agentId, { authorization: `Bearer ${c.admin.token}` });
    expect(res.status).toBe(200);
    expect(await revoked(agentId)).toBe(true);
  });

  it('every state-changing route a cookie can reach goes through the check', async () => {
    for (const r of c.collector.routes) {
      if (r.public || r.websocket || r.method === 'GET') continue;
      const url = r.url.replace(/:(\w+)/g, 'x_$1');
      const res = await rawRequest(c.apiUrl, r.method, url, {
        headers: { cookie, origin: 'https://evil.example' },
        body: {},
      });
      expect(res.status, `${r.method} ${r.url}`).toBe(403);
      expect(res.json.error?.code, `${r.method} ${r.url}`).toBe('OUTPOST_E_CSRF_REFUSED');
    }
  });

  it('WebSocket upgrades with the cookie need an allowed Origin (their own check, before anything opens)', async () => {
    const agentId = await newAgent();
    const upgrade = (headers: Record<string, string>) =>
      new Promise<{ status: number; code: string }>((resolve, reject) => {
        const ws = new WebSocket(`${c.apiUrl.replace(/^http/, 'ws')}/api/v1/agents/${agentId}/shell`, {
          headers,
          rejectUnauthorized: false,
        });
        ws.on('unexpected-response', (_req, res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, code: JSON.parse(Buffer.concat(chunks).toString()).error.code });
          });
        });
        ws.on('open', () => {
          ws.close();
          reject(new Error('the upgrade was accepted'));
        });
        ws.on('error', () => undefined);
      });
    expect(await upgrade({ cookie, origin: 'https://evil.example' })).toEqual({
      status: 403,
      code: 'OUTPOST_E_ORIGIN_REFUSED',
    });
    expect(await upgrade({ cookie })).toEqual({ status: 403, code: 'OUTPOST_E_ORIGIN_REFUSED' });
    // The console's origin passes the check; the agent (enrolled, never connected) is what refuses then.
    expect(await upgrade({ cookie, origin: 'https://console.example' })).toEqual({
      status: 409,
      code: 'OUTPOST_E_AGENT_OFFLINE',
    });
  });
});
