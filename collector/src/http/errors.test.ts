/**
 * Requests the router or the validator refuse before a route's handler runs still get the coded error shape
 * (a real collector: buildApp on a temp dir, real SQLite, `inject`). Found by test/security/api-fuzz.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
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

/** Writes raw bytes to the listening API and returns what came back before the collector closed the socket. */
function onTheWire(port: number, bytes: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(bytes, 'latin1'));
    let out = '';
    socket.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = out.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body });
    });
  });
}

describe('malformed HTTP on the wire', () => {
  it('bytes that are not HTTP, oversized headers and a missing Host get coded answers, not fastify’s or Node’s', async () => {
    await app.api.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.api.server.address() as { port: number };
    const cases: [string, number, string][] = [
      ['GARBAGE\r\n\r\n', 400, 'OUTPOST_E_BAD_REQUEST'],
      ['GET /api/v1/agents/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'OUTPOST_E_BAD_REQUEST'],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', 400, 'OUTPOST_E_BAD_REQUEST'],
      [
        'POST /api/v1/clients HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'OUTPOST_E_BAD_REQUEST',
      ],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 413, 'OUTPOST_E_PAYLOAD_TOO_LARGE'],
      ['GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'OUTPOST_E_BAD_REQUEST'],
    ];
    for (const [bytes, status, code] of cases) {
      const res = await onTheWire(port, bytes);
      expect(res.status, bytes.slice(0, 40)).toBe(status);
      expect(JSON.parse(res.body).error, bytes.slice(0, 40)).toMatchObject({ code, requestId: expect.any(String) });
    }
    const ok = await onTheWire(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(ok.status).toBe(200);
  });
});

describe('validation messages', () => {
  it('name the part of the request once', async () => {
    const res = await call('GET', '/api/v1/audit?limit=abc');
    expect(refusal(res)).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
    const { message } = (res.json() as { error: { message: string } }).error;
    expect(message).toMatch(/^Request querystring\/limit must be/);
  });

  /** The message of a refused request, after checking it is a coded 400. */
  async function badRequest(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<string> {
    const res = await call(method, url, payload);
    expect(refusal(res), `${url} ${res.body}`).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
    return (res.json() as { error: { message: string } }).error.message;
  }

  it('a value outside a union of literals names the allowed values once, not one schema line per literal', async () => {
    const message = await badRequest('POST', '/api/v1/incidents/in_000000000000/resolve', {
      note: 'done',
      category: 'nope',
    });
    expect(message).toBe(
      'Request body/category must be one of: fixed, workaround, configuration, hardware, software, user, third-party, no-fault-found, duplicate, auto-cleared',
    );
    expect(message).not.toMatch(/constant|anyOf|schema/);
  });

  it('the same holds in a query string and inside an array', async () => {
    expect(await badRequest('GET', '/api/v1/agents?status=sleeping')).toBe(
      'Request querystring/status must be one of: online, offline, revoked',
    );
    const inArray = await badRequest('POST', '/api/v1/notifications/routes', {
      channelId: 'ch_000000000000',
      events: ['opened', 'bogus'],
    });
    expect(inArray).toBe(
      'Request body/events/1 must be one of: opened, reopened, acknowledged, assigned, escalated, deescalated, sla_warning, sla_breach, resolved, closed',
    );
  });

  it('a union of objects is reported by the branch its `kind` chose, or by the allowed kinds', async () => {
    const channel = { name: 'ops', clientId: null, url: 'https://example.com/hook' };
    expect(await badRequest('POST', '/api/v1/notifications/channels', { ...channel, kind: 'pager' })).toBe(
      'Request body/kind must be one of: webhook, slack, teams, email',
    );
    expect(
      await badRequest('POST', '/api/v1/notifications/channels', { ...channel, kind: 'slack', url: 'ftp://x.example' }),
    ).toMatch(/^Request body\/url must match pattern/);
    expect(
      await badRequest('POST', '/api/v1/notifications/channels', { kind: 'email', name: 'mail', clientId: null }),
    ).toBe('Request body/host is required');
    expect(
      await badRequest('POST', '/api/v1/notifications/channels', { ...channel, kind: 'slack', clientId: {} }),
    ).toBe('Request body/clientId must be string or null');
  });

  it('an unknown field is named when it is a plain word, and never echoes control characters', async () => {
    expect(await badRequest('POST', '/api/v1/clients', { name: 'x', colour: 'red' })).toBe(
      'Request body/colour is not a known field',
    );
    const message = await badRequest('POST', '/api/v1/clients', { name: 'x', '\u001b]0;pwned\u0007': 1 });
    expect(message).toBe('Request body/… is not a known field');
  });

  it('an empty string is said to be empty, not "must NOT have fewer than 1 characters"', async () => {
    const message = await badRequest('POST', '/api/v1/incidents/in_000000000000/resolve', {
      note: '',
      category: 'fixed',
    });
    expect(message).toBe('Request body/note must not be empty');
  });
});

describe('numbers SQLite cannot bind', () => {
  it('`1e999`, `Infinity` and `-1e999` in a query are refused by name instead of reaching SQLite as a 500', async () => {
    for (const url of ['/api/v1/audit?limit=1e999', '/api/v1/sessions?limit=Infinity', '/api/v1/users?limit=-1e999']) {
      const res = await call('GET', url);
      expect(refusal(res), `${url} ${res.body}`).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
      expect((res.json() as { error: { message: string } }).error.message).toContain('querystring/limit');
    }
    expect((await call('GET', '/api/v1/audit?limit=1e3')).statusCode).toBe(200);
  });

  it('an integer past 2^53 in an unbounded field is refused instead of reaching SQLite as a 500', async () => {
    const res = await call('GET', '/api/v1/agents?offset=99999999999999999999999999999999');
    expect(refusal(res)).toEqual([400, 'OUTPOST_E_BAD_REQUEST']);
    expect((res.json() as { error: { message: string } }).error.message).toContain('querystring/offset');
    expect((await call('GET', `/api/v1/agents?offset=${Number.MAX_SAFE_INTEGER}`)).json()).toEqual({
      agents: [],
      total: 0,
    });
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
