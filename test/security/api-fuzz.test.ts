/**
 * Fuzzing the technicians' API: every registered route and method, called as an admin and as a viewer of one client
 * with hostile path parameters, query strings, bodies derived from the route's own schema, and wrong content types.
 * Every answer must be a 2xx or a coded 4xx, in bounded time; the collector must keep answering; and what the
 * refused requests touched must be unchanged afterwards. The cases are drawn from a seeded PRNG: a failure prints
 * the seed, and `OUTPOST_FUZZ_SEED=<seed> npx vitest run test/security/api-fuzz.test.ts` replays it
 * (`OUTPOST_FUZZ_ROUNDS=<n>` multiplies the number of cases, for a longer hunt).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { type ApiTarget, apiCall, inventory, type RegisteredRoute } from '@outpost/collector';
import { ERRORS, isErrorCode } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import {
  deeplyNested,
  type JsonSchema,
  MEGABYTE,
  ODD_STRINGS,
  Prng,
  QUERY_VALUES,
  sampleOf,
  wrongTypesFor,
} from '../support/fuzz.js';
import { enrolledIdentity } from '../support/raw-agent.js';

const SEED = Number(process.env.OUTPOST_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.OUTPOST_FUZZ_ROUNDS ?? 1);
const REPLAY = `seed ${SEED} (replay: OUTPOST_FUZZ_SEED=${SEED} npx vitest run test/security/api-fuzz.test.ts)`;
/** Generous for a shared 2-core CI machine; what it catches is a request that hangs or backtracks for seconds. */
const MAX_RESPONSE_MS = 5_000;

let c: TestCollector;
/** Where webhook channels deliver: a local receiver that accepts everything, so no delivery fails or leaves the host. */
let receiver: Server;
let receiverUrl: string;
/** Ids of real objects, by kind, in client A (the viewer's) and client B (another client). */
const ids: Record<string, { a: string; b: string }> = {};
let admin: string;
let viewer: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  c = await startTestCollector();
  const clientB = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/clients', { name: 'Other client' });
  const siteB = await apiCall<{ id: string }>(c.admin, 'POST', `/api/v1/clients/${clientB.id}/sites`, {
    name: 'Branch',
    timezone: 'UTC',
  });
  ids.cl = { a: c.clientId, b: clientB.id };
  ids.si = { a: c.siteId, b: siteB.id };
  const agentA = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
  const tokenB = await c.enrollmentToken({ siteId: siteB.id });
  const agentB = await enrolledIdentity(c.agentUrl, tokenB.token);
  ids.ag = { a: agentA.agentId, b: agentB.agentId };
  // Inventory as the agents would report it, with awkward names and versions, so that the fleet queries, version
  // comparisons and report renderers run on rows rather than on nothing.
  for (const [n, agentId] of [agentA.agentId, agentB.agentId].entries()) {
    const rows = inventory.demoRows({
      hostname: n ? 'pc-<b>"2",\u202e</b>' : 'pc-1',
      serial: `SN-FUZZ-${n}`,
      uuid: `4c4c4544-0000-1000-8000-00000000fff${n}`,
      mac: `00:1a:2b:3c:4d:f${n}`,
      packages: 5,
      software: [
        { name: 'lib-odd', version: '1:2.3~rc1-1+b2' },
        { name: 'lib-odd-empty', version: '' },
        { name: 'lib-odd-huge', version: '9'.repeat(400) },
        { name: 'lib-odd "quoted", <tag>', version: 'v1.0 é' },
      ],
      patches: [{ name: 'lib-odd', security: true, severity: 'critical', kb: 'KB<1>' }],
      antivirus: [{ product: 'Fuzz AV', enabled: false, expiresAt: 0 }],
    });
    await c.collector.inventory.ingest([{ agentId, msg: inventory.fullReport(1, rows, Date.now()) }], Date.now());
  }
  ids.et = { a: (await c.enrollmentToken()).id, b: tokenB.id };
  const incident = (clientId: string, siteId: string) =>
    apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
      clientId,
      siteId,
      title: 'Fuzz',
      type: 'manual',
      criticality: 'P3',
    });
  ids.in = { a: (await incident(c.clientId, c.siteId)).id, b: (await incident(clientB.id, siteB.id)).id };
  const calendar = (clientId: string) =>
    apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/calendars', {
      name: 'Fuzz hours',
      clientId,
      timezone: 'UTC',
      kind: '24x7',
    });
  ids.cal = { a: (await calendar(c.clientId)).id, b: (await calendar(clientB.id)).id };
  const channel = (clientId: string) =>
    apiCall<{ channel: { id: string } }>(c.admin, 'POST', '/api/v1/notifications/channels', {
      kind: 'webhook',
      name: 'Fuzz hook',
      clientId,
      url: receiverUrl,
    });
  ids.ch = { a: (await channel(c.clientId)).channel.id, b: (await channel(clientB.id)).channel.id };

  const initial = c.collector.initialAdmin;
  if (!initial) throw new Error('the test collector has no initial admin');
  // The fuzzing admin has its own session: the state checks keep `c.admin`, whatever the fuzzed logout does.
  admin = (await login(initial.email, initial.password)).token;
  const me = await apiCall<{ id: string }>(c.admin, 'GET', '/api/v1/auth/me');
  const viewerUser = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/users', {
    email: 'fuzz-viewer@example.com',
    name: 'Fuzz viewer',
    password: 'correct horse battery',
    roles: [{ role: 'viewer', clientId: c.clientId }],
  });
  ids.us = { a: viewerUser.id, b: me.id };
  const rotation = (clientId: string) =>
    apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/oncall/rotations', {
      name: 'Fuzz rota',
      clientId,
      tier: 1,
      startAt: 0,
      shiftHours: 8,
      members: [me.id],
    });
  ids.rot = { a: (await rotation(c.clientId)).id, b: (await rotation(clientB.id)).id };
  viewer = (await login('fuzz-viewer@example.com', 'correct horse battery')).token;
});
afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  await new Promise((resolve) => receiver?.close(resolve));
});

function login(email: string, password: string) {
  return apiCall<{ token: string }>({ server: c.apiUrl, caFingerprint: c.fingerprint }, 'POST', '/api/v1/auth/login', {
    email,
    password,
  });
}

/** The kind of id a path segment names, from the collection it follows (`/agents/:id` takes an `ag_` id). */
const KIND_OF_COLLECTION: Record<string, string> = {
  agents: 'ag',
  incidents: 'in',
  clients: 'cl',
  users: 'us',
  calendars: 'cal',
  'enrollment-tokens': 'et',
  channels: 'ch',
  rotations: 'rot',
};

/** One fuzzed request. */
interface Case {
  label: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

/** Builds the cases for one route; `scope` is the client whose ids count as "own" for the caller. */
class CaseMaker {
  constructor(
    private readonly rng: Prng,
    private readonly route: RegisteredRoute,
    private readonly token: string,
    private readonly isViewer: boolean,
  ) {}

  /** A real id of the kind `name` suggests, mostly the caller's own client, sometimes the other one. */
  private realId(kind: string | undefined): string | undefined {
    const pair = kind ? ids[kind] : undefined;
    if (!pair) return undefined;
    return this.rng.next() < 0.7 ? pair.a : pair.b;
  }

  private idHint = (name: string, schema: JsonSchema): unknown => {
    const kinds: Record<string, string> = {
      clientId: 'cl',
      siteId: 'si',
      agentId: 'ag',
      userId: 'us',
      calendarId: 'cal',
      channelId: 'ch',
      agentIds: 'ag',
    };
    // Values a schema cannot express but the code checks, so that "valid" bodies get past the first lookup.
    const plain: Record<string, unknown> = {
      timezone: this.rng.pick(['UTC', 'Europe/Paris', 'America/New_York']),
      password: 'correct horse battery staple',
      members: [ids.us?.b],
      url: receiverUrl,
      host: '127.0.0.1',
    };
    if (name in plain) return plain[name];
    // The software query matches names by substring: one that exists, so the version comparison runs.
    if (name === 'name' && this.route.url.startsWith('/api/v1/inventory/')) return 'lib';
    if (name === 'below') return this.rng.pick(['1.0', '', '~', '2:0', '1'.repeat(400), '1e999', '..', 'é']);
    if (schema.type === 'string' && (name === 'from' || name === 'to'))
      return name === 'from' ? '2026-01-01' : '2026-02-01';
    const kind = kinds[name];
    if (!kind) return undefined;
    const id = this.realId(kind);
    return name === 'agentIds' ? [id] : id;
  };

  /** A path parameter value: hostile most of the time, a real id (of this or the other client) otherwise. */
  private paramValue(collection: string | undefined): [string, string] {
    const kind = collection ? KIND_OF_COLLECTION[collection] : undefined;
    const wrongKinds = Object.keys(ids).filter((k) => k !== kind);
    const real = (): string => encodeURIComponent(this.realId(kind) ?? 'x_missing');
    const choices: [string, () => string][] = [
      ['real id', real],
      ['real id', real],
      ['real id', real],
      ['other client id', () => encodeURIComponent((kind && ids[kind]?.b) ?? 'x_missing')],
      ['wrong kind id', () => encodeURIComponent(this.realId(this.rng.pick(wrongKinds)) ?? 'x')],
      ['empty', () => ''],
      ['10k chars', () => 'a'.repeat(10_000)],
      ['dot-dot', () => this.rng.pick(['..', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '../..'])],
      ['NUL', () => this.rng.pick(['%00', `${this.realId(kind) ?? 'x'}%00`, '%00%00%00'])],
      ['unicode', () => this.rng.pick(['%C3%A9%E2%98%83%F0%9F%98%80', '%E2%80%AE', 'é☃😀', '%EF%BF%BF'])],
      ['bad percent', () => this.rng.pick(['%', '%zz', '%ff%fe', '%C3%28', 'a%2'])],
    ];
    const [label, make] = this.rng.pick(choices);
    return [label, make()];
  }

  private path(): [string, string] {
    const labels: string[] = [];
    const segments = this.route.url.split('/');
    const url = segments
      .map((seg, i) => {
        if (!seg.startsWith(':')) return seg;
        const [label, value] = this.paramValue(segments[i - 1]);
        labels.push(`${seg}=${label}`);
        return value;
      })
      .join('/');
    return [url, labels.join(',')];
  }

  private query(): [string, string] {
    const schema = this.route.schema.querystring as JsonSchema | undefined;
    const props = Object.keys(schema?.properties ?? {});
    // A plausible query first (real ids, values in range), then one thing made hostile on top of it.
    const base = Object.entries((schema ? sampleOf(schema, this.rng, this.idHint) : {}) as Record<string, unknown>);
    const key = props.length ? this.rng.pick(props) : 'limit';
    const encode = (pairs: [string, unknown][]) =>
      pairs
        .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))
        .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
        .join('&');
    const without = encode(base.filter(([k]) => k !== key));
    const value = () => this.rng.pick(QUERY_VALUES);
    const id = () => encodeURIComponent(this.realId(this.rng.pick(Object.keys(ids))) ?? 'x');
    const choices: [string, () => string][] = [
      ['valid', () => encode(base)],
      ['valid', () => encode(base)],
      ['hostile value', () => `${key}=${value()}`],
      ['repeated key', () => `${key}=${value()}&${key}=${value()}&${key}=1`],
      ['array syntax', () => `${key}[]=1&${key}[]=${value()}`],
      ['index syntax', () => `${key}[0]=${value()}&${key}[1][x]=2`],
      ['__proto__', () => `__proto__=1&__proto__[admin]=true&${key}=${value()}`],
      ['constructor', () => `constructor[prototype][admin]=1&${key}=1`],
      ['unknown key', () => `fuzz${this.rng.int(100)}=1`],
      ['id value', () => `${key}=${id()}`],
      ['all keys', () => props.map((p) => `${p}=${value()}`).join('&')],
      ['empty key', () => `=1&&&${key}`],
    ];
    const [label, make] = this.rng.pick(choices);
    const q = make();
    // Mostly keep the rest of the plausible query beside the hostile part, so that it is the one thing wrong.
    return [label !== 'valid' && without && this.rng.next() < 0.7 ? `${without}&${q}` : q, label];
  }

  /** A JSON body derived from the route's body schema with one field made hostile. */
  private body(): [string | Buffer, string, string] {
    const schema = this.route.schema.body as JsonSchema | undefined;
    const base = (schema ? sampleOf(schema, this.rng, this.idHint) : {}) as unknown;
    const json = 'application/json';
    const leaves = leafPaths(base);
    const at = leaves.length ? this.rng.pick(leaves) : [];
    const fieldSchema = schemaAt(schema, at);
    const set = (value: unknown) => JSON.stringify(setAt(base, at, value));
    const where = at.join('.') || '(root)';
    const choices: [string, () => [string | Buffer, string]][] = [
      ['valid', () => [JSON.stringify(base), json]],
      ['wrong type', () => [set(this.rng.pick(wrongTypesFor(fieldSchema))), json]],
      ['null', () => [set(null), json]],
      ['odd string', () => [set(this.rng.pick(ODD_STRINGS)), json]],
      ['odd number', () => [set(this.rng.pick([-1, 0, 1e308, -1e308, 2 ** 53, 0.1, -0.5])), json]],
      ['1 MB string', () => [set(MEGABYTE), json]],
      ['100 kB string', () => [set(MEGABYTE.slice(0, 100_000)), json]],
      ['nested 10k deep', () => [set('@NESTED@').replace('"@NESTED@"', deeplyNested(10_000)), json]],
      ['extra field', () => [JSON.stringify(setAt(base, [...at.slice(0, -1), 'fuzzExtra'], 1)), json]],
      ['__proto__ key', () => [withKey(JSON.stringify(base), '"__proto__":{"admin":true}'), json]],
      ['constructor key', () => [withKey(JSON.stringify(base), '"constructor":{"prototype":{"admin":true}}'), json]],
      ['not an object', () => [this.rng.pick(['[]', '"text"', '123', 'null', 'true']), json]],
      ['invalid JSON', () => [this.rng.pick(['{"a":', '{', '{"a":1}}', '\u0000', '{"a":1,}']), json]],
      ['text/plain', () => [JSON.stringify(base), 'text/plain']],
      [
        'multipart',
        () => [
          `--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n`,
          'multipart/form-data; boundary=x',
        ],
      ],
      ['form', () => ['name=fuzz&clientId=x', 'application/x-www-form-urlencoded']],
      ['xml', () => ['<a/>', 'application/xml']],
      ['odd charset', () => [JSON.stringify(base), 'application/json; charset=utf-16']],
      ['invalid UTF-8', () => [invalidUtf8(JSON.stringify(base)), json]],
      ['empty JSON', () => ['', json]],
      ['empty, no type', () => ['', '']],
    ];
    const [label, make] = this.rng.pick(choices);
    const [payload, type] = make();
    return [payload, type, `${label} at ${where}`];
  }

  /** The caller's token, and now and then a mangled one (which must be a coded 401, never a 500). */
  private authorization(): string {
    if (this.rng.next() > 0.03) return `Bearer ${this.token}`;
    return this.rng.pick([
      `Bearer ${this.token}x`,
      `Bearer  ${this.token}`,
      `bearer ${this.token}`,
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      `Bearer ${'a'.repeat(10_000)}`,
      'Bearer',
      'Bearer opt_%00_x',
      `Bearer ${this.token.slice(0, -1)}`,
      '',
    ]);
  }

  next(): Case {
    const [path, pathLabel] = this.path();
    const { method } = this.route;
    const headers: Record<string, string> = { authorization: this.authorization() };
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const roll = this.rng.next();
    // Unregistered methods on a real path must be a coded 404 too.
    const fuzzMethod = roll < 0.04 ? this.rng.pick(['PATCH', 'PUT', 'DELETE', 'OPTIONS']) : method;
    let url = path;
    let label = `path ${pathLabel || 'as is'}`;
    if (!hasBody || roll < 0.3) {
      const [q, qLabel] = this.query();
      url = `${path}?${q}`;
      label += `; query ${qLabel} (${q.slice(0, 80)})`;
    }
    const who = this.isViewer ? 'viewer' : 'admin';
    if (!hasBody) return { label: `${who} ${label}`, method: fuzzMethod, url, headers };
    const [payload, type, bodyLabel] = this.body();
    if (type) headers['content-type'] = type;
    return { label: `${who} ${label}; body ${bodyLabel}`, method: fuzzMethod, url, headers, payload };
  }
}

/** Paths (property names and array indexes) of every leaf, and of every object, of a JSON value. */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return prefix.length ? [prefix] : [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const out: string[][] = prefix.length ? [prefix] : [];
  for (const [k, v] of entries) out.push(...leafPaths(v, [...prefix, k]));
  return out;
}

function setAt(value: unknown, path: string[], leaf: unknown): unknown {
  if (!path.length) return leaf;
  const [head, ...rest] = path as [string, ...string[]];
  const base = value !== null && typeof value === 'object' ? value : {};
  const copy: Record<string, unknown> = Array.isArray(base)
    ? ([...base] as unknown as Record<string, unknown>)
    : { ...base };
  copy[head] = setAt(copy[head], rest, leaf);
  return copy;
}

function schemaAt(schema: JsonSchema | undefined, path: string[]): JsonSchema {
  let s: JsonSchema | undefined = schema;
  for (const key of path) {
    if (!s) break;
    if (s.anyOf) s = s.anyOf.find((x) => x.type === 'object' || x.type === 'array') ?? s.anyOf[0];
    if (s?.type === 'array') s = Array.isArray(s.items) ? s.items[Number(key)] : s.items;
    else s = s?.properties?.[key] ?? Object.values(s?.patternProperties ?? {})[0];
  }
  return s ?? {};
}

/** The JSON text with `member` inserted as the first member of its top-level object, when it is one. */
function withKey(text: string, member: string): string {
  if (!text.startsWith('{')) return text;
  return text === '{}' ? `{${member}}` : `{${member},${text.slice(1)}`;
}

/** The JSON text with bytes that are not UTF-8 inside its first string (or appended). */
function invalidUtf8(text: string): Buffer {
  const at = text.indexOf('"', text.indexOf(':') + 1);
  const cut = at > 0 ? at + 1 : text.length;
  return Buffer.concat([
    Buffer.from(text.slice(0, cut)),
    Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
    Buffer.from(text.slice(cut)),
  ]);
}

/** What a fuzzed answer must look like; returns the problem, if any. */
function problemWith(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  ms: number,
): string | undefined {
  if (ms > MAX_RESPONSE_MS) return `answered in ${ms} ms`;
  if (res.statusCode >= 500 || res.statusCode < 200 || (res.statusCode >= 300 && res.statusCode < 400)) {
    return `status ${res.statusCode}: ${res.body.slice(0, 300)}`;
  }
  if (res.statusCode < 400) return undefined;
  let body: { error?: { code?: unknown; message?: unknown; hint?: unknown; requestId?: unknown } };
  try {
    body = JSON.parse(res.body);
  } catch {
    return `status ${res.statusCode} with a body that is not JSON: ${res.body.slice(0, 300)}`;
  }
  const e = body.error;
  if (!e || typeof e.code !== 'string' || !isErrorCode(e.code))
    return `uncoded ${res.statusCode}: ${res.body.slice(0, 300)}`;
  if (typeof e.message !== 'string' || typeof e.hint !== 'string' || typeof e.requestId !== 'string') {
    return `error body misses message, hint or requestId: ${res.body.slice(0, 300)}`;
  }
  if (ERRORS[e.code].http !== res.statusCode)
    return `${e.code} answered with status ${res.statusCode}, not ${ERRORS[e.code].http}`;
  return undefined;
}

/** Counts of what the fuzzed routes could create or remove, read through the API as the other admin session. */
async function state(t: ApiTarget): Promise<Record<string, number>> {
  const get = <T>(path: string) => apiCall<T>(t, 'GET', path);
  const clients = (await get<{ clients: { id: string }[] }>('/api/v1/clients')).clients;
  let sites = 0;
  for (const cl of clients) sites += (await get<{ sites: unknown[] }>(`/api/v1/clients/${cl.id}/sites`)).sites.length;
  // The plain list leaves revoked agents out; they are counted apart.
  const active = (await get<{ agents: unknown[] }>('/api/v1/agents?limit=1000')).agents.length;
  const revoked = (await get<{ agents: unknown[] }>('/api/v1/agents?limit=1000&status=revoked')).agents.length;
  return {
    clients: clients.length,
    sites,
    agents: active + revoked,
    revokedAgents: revoked,
    users: (await get<{ users: unknown[] }>('/api/v1/users?limit=1000')).users.length,
    incidents: (await get<{ total: number }>('/api/v1/incidents?limit=1')).total,
    enrollmentTokens: (await get<{ tokens: unknown[] }>('/api/v1/enrollment-tokens')).tokens.length,
    apiTokens: (await get<{ tokens: unknown[] }>('/api/v1/auth/api-tokens')).tokens.length,
    calendars: (await get<{ calendars: unknown[] }>('/api/v1/calendars')).calendars.length,
    rotations: (await get<{ rotations: unknown[] }>('/api/v1/oncall/rotations')).rotations.length,
    channels: (await get<{ channels: unknown[] }>('/api/v1/notifications/channels')).channels.length,
    notificationRoutes: (await get<{ routes: unknown[] }>('/api/v1/notifications/routes')).routes.length,
  };
}

/** What a viewer may change: its own session, API tokens and second factor. */
const VIEWER_MAY = new Set([
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/logout',
  'POST /api/v1/auth/api-tokens',
  'DELETE /api/v1/auth/api-tokens/:id',
  'POST /api/v1/auth/totp/setup',
  'POST /api/v1/auth/totp/enable',
  // Gated on `agent.read` today (docs/0003-inventory.md: "a technician can ask the same"): it changes nothing but
  // makes the agent run its probes, and is audited.
  'POST /api/v1/agents/:id/inventory/refresh',
]);

/** What a successful call to a route does to the counts above (only these routes may change them). */
const EFFECTS: Record<string, [string, number]> = {
  'POST /api/v1/clients': ['clients', 1],
  'POST /api/v1/clients/:clientId/sites': ['sites', 1],
  'POST /api/v1/agents/:id/revoke': ['revokedAgents', 1],
  'POST /api/v1/users': ['users', 1],
  'POST /api/v1/incidents': ['incidents', 1],
  'POST /api/v1/enrollment-tokens': ['enrollmentTokens', 1],
  'POST /api/v1/auth/api-tokens': ['apiTokens', 1],
  'DELETE /api/v1/auth/api-tokens/:id': ['apiTokens', -1],
  'POST /api/v1/calendars': ['calendars', 1],
  'POST /api/v1/oncall/rotations': ['rotations', 1],
  'POST /api/v1/notifications/channels': ['channels', 1],
  'DELETE /api/v1/notifications/channels/:id': ['channels', -1],
  'POST /api/v1/notifications/routes': ['notificationRoutes', 1],
  'DELETE /api/v1/notifications/routes/:id': ['notificationRoutes', -1],
};

describe('API fuzzing', () => {
  it(
    `every route answers hostile input with a 2xx or a coded 4xx, in bounded time, and changes nothing it refused`,
    async () => {
      const rng = new Prng(SEED);
      const before = await state(c.admin);
      const auditBefore = (await apiCall<{ events: { index: number }[] }>(c.admin, 'GET', '/api/v1/audit?limit=1000'))
        .events;
      // Logging out ends the fuzzing session: that route goes last.
      const routes = [...c.collector.routes].sort(
        (x, y) => Number(x.url === '/api/v1/auth/logout') - Number(y.url === '/api/v1/auth/logout'),
      );
      const problems: string[] = [];
      const effects: Record<string, number> = {};
      let sent = 0;
      for (const [token, isViewer, perRoute] of [
        [admin, false, 30],
        [viewer, true, 12],
      ] as const) {
        for (const route of routes) {
          const maker = new CaseMaker(rng, route, token, isViewer);
          for (let i = 0; i < perRoute * ROUNDS; i++) {
            const k = maker.next();
            const started = performance.now();
            const res = await Promise.race([
              c.collector.api.inject({
                method: k.method as 'GET',
                url: k.url,
                headers: k.headers,
                ...(k.payload !== undefined ? { payload: k.payload } : {}),
              }),
              new Promise<never>((_, reject) =>
                setTimeout(
                  () => reject(new Error(`${route.method} ${route.url} ${k.label}: no answer; ${REPLAY}`)),
                  20_000,
                ).unref(),
              ),
            ]);
            sent++;
            const problem = problemWith(res, performance.now() - started);
            if (problem) problems.push(`${k.method} ${route.url} [${k.label}]: ${problem}`);
            // A viewer only reads: besides its own session and tokens, nothing it sends may succeed.
            if (isViewer && k.method !== 'GET' && res.statusCode < 300 && !VIEWER_MAY.has(`${k.method} ${route.url}`)) {
              problems.push(`${k.method} ${route.url} [${k.label}]: a viewer was answered ${res.statusCode}`);
            }
            // A fuzzed method can land on a sibling route (DELETE on a GET route's path): count what was called.
            const effect = EFFECTS[`${k.method} ${route.url}`];
            if (effect && res.statusCode < 300 && !isViewer) {
              effects[effect[0]] = (effects[effect[0]] ?? 0) + effect[1];
            }
          }
          const health = await c.collector.api.inject({ method: 'GET', url: '/healthz' });
          if (health.statusCode !== 200)
            problems.push(`after ${route.method} ${route.url}: /healthz ${health.statusCode}`);
        }
      }
      expect(problems, `${problems.length} of ${sent} fuzzed requests; ${REPLAY}`).toEqual([]);

      // Still answering over a real socket, and what was refused changed nothing.
      expect(await apiCall<{ status: string }>(c.admin, 'GET', '/healthz')).toMatchObject({ status: 'ok' });
      const expected = { ...before };
      for (const [key, delta] of Object.entries(effects)) expected[key] = (expected[key] ?? 0) + delta;
      expect(await state(c.admin), REPLAY).toEqual(expected);
      // The audit log is readable and append-only: what it held before the run is still there, unchanged.
      const top = auditBefore[0]?.index ?? 0;
      const auditAfter = await apiCall<{ events: unknown[] }>(
        c.admin,
        'GET',
        `/api/v1/audit?limit=1000&before=${top + 1}`,
      );
      expect(auditAfter.events, REPLAY).toEqual(auditBefore);
    },
    60_000 * ROUNDS,
  );
  it('malformed HTTP on the wire (bytes flipped, cut, repeated) gets a coded answer or a closed socket, never a hang', async () => {
    const rng = new Prng(SEED ^ 0x5bd1e995);
    const { hostname, port } = new URL(c.apiUrl);
    const auth = `Authorization: Bearer ${c.admin.token}\r\n`;
    const body = '{"name":"Wire fuzz"}';
    const templates = [
      `GET /api/v1/agents?limit=5&status=online HTTP/1.1\r\nHost: x\r\n${auth}Accept: application/json\r\n\r\n`,
      `POST /api/v1/clients HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n"b"\r\n1\r\n}\r\n0\r\n\r\n`,
    ];
    const mutate = (text: string): [Buffer, string] => {
      const bytes = [...Buffer.from(text, 'latin1')];
      const at = () => rng.int(bytes.length);
      const kind = rng.pick(['flip', 'cut', 'delete', 'repeat', 'insert']);
      const n = 1 + rng.int(4);
      for (let i = 0; i < n; i++) {
        const p = at();
        if (kind === 'flip') bytes[p] = rng.int(256);
        else if (kind === 'cut') bytes.length = p;
        else if (kind === 'delete') bytes.splice(p, 1 + rng.int(8));
        else if (kind === 'repeat') bytes.splice(p, 0, ...bytes.slice(p, p + 1 + rng.int(40)));
        else
          bytes.splice(
            p,
            0,
            ...Buffer.from(rng.pick(['\r\n', '\0', '\xff\xfe', ' ', ':', '%', '\r\n\r\n', '\t']), 'latin1'),
          );
      }
      return [Buffer.from(bytes), kind];
    };
    const send = (bytes: Buffer) =>
      new Promise<string>((resolve) => {
        let out = '';
        const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
          socket.end(bytes);
        });
        // The collector may close first, or reset a connection it refused: both are fine, a hang is not.
        const timer = setTimeout(() => {
          socket.destroy();
          resolve(`${out}\u0000timeout`);
        }, MAX_RESPONSE_MS);
        socket.on('data', (d: Buffer) => {
          out += d.toString('utf8');
        });
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(out);
        });
      });
    const problems: string[] = [];
    for (let i = 0; i < 150; i++) {
      const [bytes, kind] = mutate(rng.pick(templates));
      const out = await send(bytes);
      const label = `${kind}: ${JSON.stringify(bytes.toString('latin1').slice(0, 120))}`;
      if (out.endsWith('\u0000timeout')) {
        problems.push(`${label}: no answer and no close in ${MAX_RESPONSE_MS} ms`);
        continue;
      }
      // Every answer on the socket (keep-alive can carry two) is a 2xx or a coded 4xx.
      for (const m of out.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*\r\n/g)) {
        const status = Number(m[1]);
        if (status >= 500 || status < 200) problems.push(`${label}: status ${status}: ${out.slice(0, 300)}`);
      }
      const json = out.slice(out.indexOf('{"error"'));
      if (/HTTP\/1\.1 4\d\d/.test(out)) {
        const code = /"code":"(\w+)"/.exec(json)?.[1];
        if (!code || !isErrorCode(code)) problems.push(`${label}: uncoded refusal: ${out.slice(0, 300)}`);
      }
    }
    expect(problems, REPLAY).toEqual([]);
    expect(await apiCall<{ status: string }>(c.admin, 'GET', '/healthz'), REPLAY).toMatchObject({ status: 'ok' });
  }, 60_000);
});
