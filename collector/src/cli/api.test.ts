/**
 * The CLI's typed client against a real HTTP server on 127.0.0.1 that answers what a collector of another version
 * (or something that is no collector) might: a wrong shape, a body that is not JSON, extra fields. The client must
 * refuse the first two with a coded error naming the route, and read the third.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutpostError } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, apiText, queryString, routePath } from './api.js';
import type { ApiTarget } from './client.js';

/** What the fake collector answers, by path (and the last request it saw). */
const answers: Record<string, { type?: string; body: string }> = {
  '/api/v1/agents': { body: JSON.stringify({ agents: [{ id: 'ag_1', hostname: 7 }], total: 1 }) },
  '/api/v1/auth/me': { body: '<html>proxy login page</html>', type: 'application/json' },
  '/api/v1/clients': {
    body: JSON.stringify({
      clients: [{ id: 'cl_1', name: 'Acme', createdAt: 1, tier: 'gold' }],
      nextPage: null,
    }),
  },
  '/api/v1/clients/cl%2F1/sites': { body: JSON.stringify({ sites: [] }) },
  '/metrics': { body: 'outpost_up 1\n', type: 'text/plain' },
};
let seen: string[] = [];
let server: Server;
let target: ApiTarget;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const a = answers[(req.url ?? '').split('?')[0]!];
    res.writeHead(a ? 200 : 404, { 'content-type': a?.type ?? 'application/json' });
    res.end(a?.body ?? JSON.stringify({ error: { code: 'OUTPOST_E_NOT_FOUND', message: 'no such route' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  target = { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutpostError);
  return err as OutpostError;
};

describe('the typed API client', () => {
  it('refuses an answer of the wrong shape with a coded error naming the route and the field', async () => {
    const err = await refusal(api(target, 'GET /api/v1/agents'));
    expect(err.code).toBe('OUTPOST_E_BAD_RESPONSE');
    expect(err.message).toContain('GET /api/v1/agents');
    expect(err.message).toMatch(/\/agents\/0\//);
    expect(err.details).toMatchObject({ route: 'GET /api/v1/agents' });
  });

  it('refuses a success that is not JSON, coded, not as a parse crash', async () => {
    const err = await refusal(api(target, 'GET /api/v1/auth/me'));
    expect(err.code).toBe('OUTPOST_E_BAD_RESPONSE');
    expect(err.message).toContain('/api/v1/auth/me');
  });

  it('reads an answer with fields it does not know (a newer collector), typed from the route', async () => {
    const r = await api(target, 'GET /api/v1/clients');
    expect(r.clients.map((c) => c.name)).toEqual(['Acme']);
  });

  it('fills path parameters encoded and builds the query from defined values', async () => {
    seen = [];
    await api(target, 'GET /api/v1/clients/:clientId/sites', {
      params: { clientId: 'cl/1' },
      query: { a: 1, skip: undefined, no: false, empty: '', many: ['x', 'y'] },
    });
    expect(seen).toEqual(['GET /api/v1/clients/cl%2F1/sites?a=1&many=x&many=y']);
    expect(routePath('PUT /api/v1/releases/uploads/:id/targets/*', { id: 'u1', '*': 'linux x64/agent' })).toBe(
      '/api/v1/releases/uploads/u1/targets/linux%20x64/agent',
    );
    expect(queryString({})).toBe('');
  });

  it('passes the API’s own coded errors through, and text routes as text', async () => {
    const err = await refusal(api(target, 'GET /api/v1/agents/:id', { params: { id: 'nope' } }));
    expect(err.code).toBe('OUTPOST_E_NOT_FOUND');
    expect(await apiText(target, 'GET /metrics')).toBe('outpost_up 1\n');
  });
});
