/**
 * Requests the router or the validator refuse before a route's handler runs still get the coded error shape
 * (a real collector: buildApp on a temp dir, real SQLite, `inject`). Found by test/security/api-fuzz.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERRORS } from '@outpost/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import { unsafeNumberPath } from './numbers.js';

let app: Collector;
let dir: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-http-errors-'));
  const settings = checkSettings({ dataDir: dir, tls: { enabled: false }, log: { level: 'silent' } });
  app = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
  const login = await app.api.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: app.initialAdmin!.email, password: app.initialAdmin!.password },
  });
  token = (login.json() as { token: string }).token;
});
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

function call(method: 'GET' | 'POST', url: string, payload?: unknown) {
  return app.api.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
}

/** The status and code of a refusal, after checking it has the catalogue's shape. */
function refusal(res: { statusCode: number; json(): unknown }): [number, string] {
  const body = res.json() as { error: { code: keyof typeof ERRORS; message: string; hint: string; requestId: string } };
  expect(body.error).toMatchObject({
    message: expect.any(String),
    hint: expect.any(String),
    requestId: expect.any(String),
  });
  expect(ERRORS[body.error.code].http).toBe(res.statusCode);
  return [res.statusCode, body.error.code];
}

describe('router refusals are coded', () => {
  it('a path that is not valid percent-encoding is a coded 400, not fastify’s own JSON', async () => {
    for (const id of ['%zz', '%ff%fe', '%C3%28', '%']) {
      const res = await call('GET', `/api/v1/agents/${id}`);
      expect(refusal(res), id).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
      expect(res.body).not.toContain('FST_ERR');
    }
  });

  it('a path parameter past the router’s length limit is a coded 400 that does not echo the path', async () => {
    const res = await call('GET', `/api/v1/incidents/${'a'.repeat(10_000)}`);
    expect(refusal(res)).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
    expect(res.body.length).toBeLessThan(1000);
  });

  it('a plain HTTP request to a WebSocket endpoint is a coded 426, not an empty 404', async () => {
    // (The technicians' socket routes refuse an unknown session or agent first, in their own preValidation.)
    expect(refusal(await call('GET', '/v1/agent'))).toEqual([426, 'OUTPOST_E_WEBSOCKET_REQUIRED']);
  });
});

describe('numbers SQLite cannot bind', () => {
  it('`1e999`, `Infinity` and `-1e999` in a query are refused by name instead of reaching SQLite as a 500', async () => {
    for (const url of ['/api/v1/audit?limit=1e999', '/api/v1/sessions?limit=Infinity', '/api/v1/users?limit=-1e999']) {
      const res = await call('GET', url);
      expect(refusal(res), url).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
      expect((res.json() as { error: { message: string } }).error.message).toContain('querystring/limit');
    }
    expect((await call('GET', '/api/v1/audit?limit=1e3')).statusCode).toBe(200);
  });

  it('an integer past 2^53 in an unbounded field is refused instead of reaching SQLite as a 500', async () => {
    const res = await call('GET', '/api/v1/agents?offset=99999999999999999999999999999999');
    expect(refusal(res)).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
    expect((res.json() as { error: { message: string } }).error.message).toContain('querystring/offset');
    expect((await call('GET', `/api/v1/agents?offset=${Number.MAX_SAFE_INTEGER}`)).json()).toEqual({ agents: [] });
  });

  it('a numeric string that overflows in a body is refused and creates nothing', async () => {
    const client = (await call('POST', '/api/v1/clients', { name: 'Finite' })).json() as { id: string };
    const site = (await call('POST', `/api/v1/clients/${client.id}/sites`, { name: 'HQ', timezone: 'UTC' })).json() as {
      id: string;
    };
    const res = await call('POST', '/api/v1/enrollment-tokens', { siteId: site.id, expiresInHours: '1e999' });
    expect(refusal(res)).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
    expect((res.json() as { error: { message: string } }).error.message).toContain('body/expiresInHours');
    expect((await call('GET', '/api/v1/enrollment-tokens')).json()).toEqual({ tokens: [] });
  });

  it('unsafeNumberPath names the first unsafe number at any depth', () => {
    expect(unsafeNumberPath({ a: 1.5, b: [1, -2, { c: 'x', d: Number.MAX_SAFE_INTEGER }] })).toBeUndefined();
    expect(unsafeNumberPath({ a: 1, b: [1, 2, { c: -Infinity }] })).toBe('/b/2/c');
    expect(unsafeNumberPath({ big: 2 ** 53 })).toBe('/big');
    expect(unsafeNumberPath(Number.NaN)).toBe('/');
    expect(unsafeNumberPath(undefined)).toBeUndefined();
  });
});
