/** API refusals: anonymous callers, cross-client reads, insufficient roles, malformed requests. */
import { type ApiTarget, apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { enrolledIdentity } from '../support/raw-agent.js';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => c?.[Symbol.asyncDispose]());

/** The routes reachable without authentication: keep this list short, and every entry justified. */
const PUBLIC_ROUTES = new Set([
  'GET /healthz', // load balancers and install scripts
  'POST /api/v1/auth/login', // how one gets a token
  'GET /v1/agent', // agents authenticate inside the socket (signed challenge)
  'GET /api/docs', // the OpenAPI document: route shapes, no data
  // The web console's page (the same index.html at each of its paths) and its hashed bundles: no data, the app
  // logs in through the API.
  'GET /',
  'GET /login',
  'GET /fleet',
  'GET /machines/*',
  'GET /incidents',
  'GET /incidents/*',
  'GET /account',
  'GET /admin',
  'GET /admin/*',
  'GET /reports',
  'GET /reports/*',
  'GET /assets/*',
  'GET /install/manifest.json', // agent installers: no secret inside, rate-limited (docs/0009-packaging.md)
  'GET /install/:file',
  // Release metadata and executables: signed offline and verified by each agent (docs/0011-releases.md).
  'GET /v1/updates/metadata/:name',
  'GET /v1/updates/targets/*',
  // Slack and Teams: no token, the platform's HMAC signature over the body instead (docs/0014-requests.md).
  'POST /api/v1/chat/slack/commands',
  'POST /api/v1/chat/slack/actions',
  'POST /api/v1/chat/teams',
]);

async function raw(method: string, url: string, headers: Record<string, string> = {}, body?: string) {
  return c.collector.api.inject({
    method: method as 'GET',
    url,
    headers,
    ...(body !== undefined ? { payload: body } : {}),
  });
}

async function userOf(clientId: string | null, role: string): Promise<ApiTarget> {
  const email = `${role}-${Math.random().toString(36).slice(2)}@example.com`;
  await apiCall(c.admin, 'POST', '/api/v1/users', {
    email,
    name: role,
    password: 'correct horse battery',
    roles: [{ role, clientId }],
  });
  const login = await apiCall<{ token: string }>(
    { server: c.apiUrl, caFingerprint: c.fingerprint },
    'POST',
    '/api/v1/auth/login',
    { email, password: 'correct horse battery' },
  );
  return { server: c.apiUrl, caFingerprint: c.fingerprint, token: login.token };
}

describe('authentication', () => {
  it('every registered route refuses an anonymous caller unless it is on the public allow-list', async () => {
    const routes = c.collector.routes;
    expect(routes.length).toBeGreaterThan(15);
    const publicSeen = routes.filter((r) => r.public).map((r) => `${r.method} ${r.url}`);
    expect(new Set(publicSeen)).toEqual(PUBLIC_ROUTES);
    for (const r of routes) {
      if (PUBLIC_ROUTES.has(`${r.method} ${r.url}`)) continue;
      const url = r.url.replace(/:(\w+)/g, 'x_$1');
      const res = await raw(
        r.method,
        url,
        r.method === 'GET' ? {} : { 'content-type': 'application/json' },
        r.method === 'GET' ? undefined : '{}',
      );
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      expect(res.json().error.code).toBe('OUTPOST_E_UNAUTHENTICATED');
      // A garbage token is refused the same way.
      const bad = await raw(
        r.method,
        url,
        {
          authorization: 'Bearer opt_000000000000_nope',
          ...(r.method === 'GET' ? {} : { 'content-type': 'application/json' }),
        },
        r.method === 'GET' ? undefined : '{}',
      );
      expect(bad.statusCode, `${r.method} ${r.url} with a bad token`).toBe(401);
    }
  });

  it('a wrong password is refused and audited', async () => {
    const res = await raw(
      'POST',
      '/api/v1/auth/login',
      { 'content-type': 'application/json' },
      JSON.stringify({ email: 'admin@outpost.local', password: 'wrong' }),
    );
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('OUTPOST_E_LOGIN_FAILED');
    const events = await apiCall<{ events: { type: string; result: string }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?type=auth.login',
    );
    expect(events.events.some((e) => e.result === 'failure')).toBe(true);
  });

  it('responses never carry secrets (password hashes, token hashes)', async () => {
    const users = await raw('GET', '/api/v1/users', { authorization: `Bearer ${c.admin.token}` });
    expect(users.body).not.toMatch(/scrypt|password/i);
    const tokens = await raw('GET', '/api/v1/enrollment-tokens', { authorization: `Bearer ${c.admin.token}` });
    expect(tokens.body).not.toMatch(/"hash"/);
  });
});

describe('tenancy and roles', () => {
  it("a user of client A cannot read client B's agents, and the refusal is audited", async () => {
    const clientB = c.clientId;
    const { agentId } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    const a = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/clients', { name: `Client A ${Date.now()}` });
    const techA = await userOf(a.id, 'tier3');

    const list = await apiCall<{ agents: { id: string }[] }>(techA, 'GET', '/api/v1/agents');
    expect(list.agents.map((x) => x.id)).not.toContain(agentId);
    // What a user may not see does not exist: answered as unknown ids are (test/security/tenant-census.test.ts).
    await expect(apiCall(techA, 'GET', `/api/v1/agents/${agentId}`)).rejects.toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
    });
    await expect(apiCall(techA, 'GET', `/api/v1/agents?clientId=${clientB}`)).rejects.toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
    });
    await expect(apiCall(techA, 'POST', `/api/v1/agents/${agentId}/revoke`, {})).rejects.toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
    });
    await expect(apiCall(techA, 'GET', `/api/v1/clients/${clientB}/sites`)).rejects.toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
    });

    const denied = (
      await apiCall<{ events: { result: string; agentId: string | null; actor: { name: string } }[] }>(
        c.admin,
        'GET',
        '/api/v1/audit?limit=1000',
      )
    ).events.filter((e) => e.result === 'denied' && e.agentId === agentId);
    expect(denied.length).toBeGreaterThanOrEqual(2);
    expect((await apiCall<{ status: string }>(c.admin, 'GET', `/api/v1/agents/${agentId}`)).status).not.toBe('revoked');
  });

  it('a viewer can read but not revoke, create tokens or manage users', async () => {
    const viewer = await userOf(c.clientId, 'viewer');
    const { agentId } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    expect((await apiCall<{ id: string }>(viewer, 'GET', `/api/v1/agents/${agentId}`)).id).toBe(agentId);
    await expect(apiCall(viewer, 'POST', `/api/v1/agents/${agentId}/revoke`, {})).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    await expect(apiCall(viewer, 'POST', '/api/v1/enrollment-tokens', { siteId: c.siteId })).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    await expect(
      apiCall(viewer, 'POST', '/api/v1/users', {
        email: 'x@example.com',
        name: 'x',
        password: 'long enough pass',
        roles: [{ role: 'admin', clientId: null }],
      }),
    ).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    await expect(apiCall(viewer, 'POST', '/api/v1/clients', { name: 'Nope' })).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    // Making a machine run its inventory probes is a technician's action.
    await expect(apiCall(viewer, 'POST', `/api/v1/agents/${agentId}/inventory/refresh`, {})).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    const tech = await userOf(c.clientId, 'tier1');
    expect(await apiCall(tech, 'POST', `/api/v1/agents/${agentId}/inventory/refresh`, {})).toEqual({ requested: true });
  });
});

describe('malformed requests', () => {
  const auth = () => ({ authorization: `Bearer ${c.admin.token}`, 'content-type': 'application/json' });
  it('refuses unknown fields instead of dropping them', async () => {
    const res = await raw('POST', '/api/v1/clients', auth(), JSON.stringify({ name: 'X', owner: 'me' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('OUTPOST_E_BAD_REQUEST');
  });
  it('refuses invalid JSON and __proto__ bodies', async () => {
    expect((await raw('POST', '/api/v1/clients', auth(), '{"name":')).statusCode).toBe(400);
    const proto = await raw('POST', '/api/v1/clients', auth(), '{"name":"P","__proto__":{"admin":true}}');
    expect(proto.statusCode).toBe(400);
  });
  it('refuses an impossible time zone and changes nothing', async () => {
    const before = (await apiCall<{ sites: unknown[] }>(c.admin, 'GET', `/api/v1/clients/${c.clientId}/sites`)).sites
      .length;
    const res = await raw(
      'POST',
      `/api/v1/clients/${c.clientId}/sites`,
      auth(),
      JSON.stringify({ name: 'Mars', timezone: 'Mars/Olympus' }),
    );
    expect(res.statusCode).toBe(400);
    expect(
      (await apiCall<{ sites: unknown[] }>(c.admin, 'GET', `/api/v1/clients/${c.clientId}/sites`)).sites.length,
    ).toBe(before);
  });
});
