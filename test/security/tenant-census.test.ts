/**
 * "What a user may not see does not exist" (DESIGN.md, Identity and trust), as a census rather than a sample: for
 * every registered route and technician socket, and every id it takes (path parameter, query field, body field), a
 * user bound to client A who names client B's resource gets the very answer an unknown id gets — same status, same
 * code, same message and details once the two ids are set aside. Users of every role on A ask, so that a refusal
 * for want of an action (403) is told apart from one for want of sight (404).
 */
import { type ApiTarget, apiCall, type RegisteredRoute } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { openTechSocket } from '../../collector/src/cli/tech-socket.js';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { type JsonSchema, Prng, sampleOf } from '../support/fuzz.js';
import { enrolledIdentity } from '../support/raw-agent.js';

/** The kind of id a path parameter takes, from the collection it follows. */
const KIND_OF_COLLECTION: Record<string, string> = {
  agents: 'ag',
  incidents: 'in',
  clients: 'cl',
  users: 'us',
  calendars: 'cal',
  'enrollment-tokens': 'et',
  channels: 'ch',
  rotations: 'rot',
  sessions: 'se',
  routes: 'rt',
  'api-tokens': 'tok',
  policies: 'pol',
  jobs: 'jb',
  scripts: 'sc',
  requesters: 'rq',
  'triage-rules': 'tr',
};
/** Collections whose ids belong to no client (release uploads and their file names, rollouts: global, admin only); their parameters are not probed. */
const GLOBAL_COLLECTIONS = new Set(['uploads', 'metadata', 'rollouts']);
/** Query and body fields that name a resource, by kind. */
const KIND_OF_FIELD: Record<string, string> = {
  clientId: 'cl',
  siteId: 'si',
  agentId: 'ag',
  agentIds: 'ag',
  channelId: 'ch',
  calendarId: 'cal',
  // Users named in a body (an assignee, rotation members, an override): B's user holds roles on B only.
  userId: 'us',
  members: 'us',
};
const ROLES = ['viewer', 'tier1', 'tier3', 'admin'] as const;

let c: TestCollector;
/** Real ids by kind: in client A (the callers' own) and in client B. */
const ids: Record<string, { a: string; b: string }> = {};
const callers: Record<string, ApiTarget> = {};
let routes: RegisteredRoute[];

beforeAll(async () => {
  c = await startTestCollector();
  const admin = c.admin;
  const clientB = await apiCall<{ id: string }>(admin, 'POST', '/api/v1/clients', { name: 'Globex' });
  const siteB = await apiCall<{ id: string }>(admin, 'POST', `/api/v1/clients/${clientB.id}/sites`, {
    name: 'Branch',
    timezone: 'UTC',
  });
  ids.cl = { a: c.clientId, b: clientB.id };
  ids.si = { a: c.siteId, b: siteB.id };
  const tokenA = await c.enrollmentToken();
  const tokenB = await c.enrollmentToken({ siteId: siteB.id });
  ids.ag = {
    a: (await enrolledIdentity(c.agentUrl, tokenA.token)).agentId,
    b: (await enrolledIdentity(c.agentUrl, tokenB.token)).agentId,
  };
  ids.et = { a: (await c.enrollmentToken()).id, b: (await c.enrollmentToken({ siteId: siteB.id })).id };
  const incident = async (clientId: string, siteId: string) =>
    (
      await apiCall<{ id: string }>(admin, 'POST', '/api/v1/incidents', {
        clientId,
        siteId,
        title: 'Census',
        type: 'manual',
        criticality: 'P3',
      })
    ).id;
  ids.in = { a: await incident(c.clientId, c.siteId), b: await incident(clientB.id, siteB.id) };
  const calendar = async (clientId: string) =>
    (
      await apiCall<{ id: string }>(admin, 'POST', '/api/v1/calendars', {
        name: 'Hours',
        clientId,
        timezone: 'UTC',
        kind: '24x7',
      })
    ).id;
  ids.cal = { a: await calendar(c.clientId), b: await calendar(clientB.id) };
  const channel = async (clientId: string) =>
    (
      await apiCall<{ channel: { id: string } }>(admin, 'POST', '/api/v1/notifications/channels', {
        kind: 'webhook',
        name: 'Hook',
        clientId,
        url: 'http://127.0.0.1:9/hook',
      })
    ).channel.id;
  ids.ch = { a: await channel(c.clientId), b: await channel(clientB.id) };
  const route = async (channelId: string) =>
    (await apiCall<{ id: string }>(admin, 'POST', '/api/v1/notifications/routes', { channelId })).id;
  ids.rt = { a: await route(ids.ch.a), b: await route(ids.ch.b) };
  const me = await apiCall<{ id: string }>(admin, 'GET', '/api/v1/auth/me');
  const rotation = async (clientId: string) =>
    (
      await apiCall<{ id: string }>(admin, 'POST', '/api/v1/oncall/rotations', {
        name: 'Rota',
        clientId,
        tier: 1,
        startAt: 0,
        shiftHours: 8,
        members: [me.id],
      })
    ).id;
  ids.rot = { a: await rotation(c.clientId), b: await rotation(clientB.id) };
  const policy = async (clientId: string) =>
    (await apiCall<{ id: string }>(admin, 'POST', '/api/v1/detection/policies', { clientId })).id;
  ids.pol = { a: await policy(c.clientId), b: await policy(clientB.id) };
  // Each client's requester directory and triage rules (issue 19).
  const requester = async (clientId: string) =>
    (await apiCall<{ id: string }>(admin, 'POST', `/api/v1/clients/${clientId}/requesters`, { name: 'Census' })).id;
  ids.rq = { a: await requester(c.clientId), b: await requester(clientB.id) };
  const rule = async (clientId: string) =>
    (
      await apiCall<{ id: string }>(admin, 'POST', `/api/v1/clients/${clientId}/triage-rules`, {
        keywords: ['census'],
        type: 'census',
      })
    ).id;
  ids.tr = { a: await rule(c.clientId), b: await rule(clientB.id) };
  // A script of each client's own, and a job on each client's machine.
  const script = async (clientId: string) =>
    (await apiCall<{ id: string }>(admin, 'POST', '/api/v1/scripts', { name: 'census', clientId, body: 'true\n' })).id;
  ids.sc = { a: await script(c.clientId), b: await script(clientB.id) };
  const job = async (agentId: string, scriptId: string) =>
    (
      await apiCall<{ id: string }>(admin, 'POST', '/api/v1/jobs', {
        spec: { kind: 'script', script: scriptId },
        target: { agentIds: [agentId] },
      })
    ).id;
  ids.jb = { a: await job(ids.ag.a, ids.sc.a), b: await job(ids.ag.b, ids.sc.b) };
  // A finished session on each client's machine, as the sessions concern stores one.
  const session = async (agentId: string, clientId: string, siteId: string) => {
    const id = `se_census${clientId.slice(-6)}`;
    await c.collector.sessions.store.insert({
      id,
      kind: 'shell',
      agentId,
      clientId,
      siteId,
      userId: me.id,
      userEmail: 'admin@example.com',
      elevated: false,
      path: null,
      startedAt: Date.now() - 1000,
      endedAt: Date.now(),
      exitCode: 0,
      closeReason: 'exit',
      cols: 80,
      rows: 24,
      recordingFile: null,
      recordingBytes: null,
      recordingStatus: 'none',
      bytesOut: 0,
      bytesIn: 0,
      sha256: null,
    });
    return id;
  };
  ids.se = { a: await session(ids.ag!.a, c.clientId, c.siteId), b: await session(ids.ag!.b, clientB.id, siteB.id) };
  const userB = await apiCall<{ id: string }>(admin, 'POST', '/api/v1/users', {
    email: 'globex-tech@example.com',
    name: 'Globex tech',
    password: 'correct horse battery',
    roles: [{ role: 'tier3', clientId: clientB.id }],
  });
  for (const role of ROLES) {
    const email = `census-${role}@example.com`;
    const user = await apiCall<{ id: string }>(admin, 'POST', '/api/v1/users', {
      email,
      name: role,
      password: 'correct horse battery',
      roles: [{ role, clientId: c.clientId }],
    });
    if (role === 'tier3') ids.us = { a: user.id, b: userB.id };
    const login = await apiCall<{ token: string }>(
      { server: c.apiUrl, caFingerprint: c.fingerprint },
      'POST',
      '/api/v1/auth/login',
      { email, password: 'correct horse battery' },
    );
    callers[role] = { server: c.apiUrl, caFingerprint: c.fingerprint, token: login.token };
  }
  const tok = async (t: ApiTarget) =>
    (await apiCall<{ info: { id: string } }>(t, 'POST', '/api/v1/auth/api-tokens', { name: 'census' })).info.id;
  ids.tok = { a: await tok(callers.tier3!), b: await tok(admin) };
  routes = c.collector.routes.filter((r) => !r.public);
}, 60_000);
afterAll(async () => c?.[Symbol.asyncDispose]());

/** An id nobody holds, of the same kind and length as `id`. */
function unknownLike(id: string): string {
  const cut = id.indexOf('_') + 1;
  return id.slice(0, cut) + 'q'.repeat(Math.max(id.length - cut, 1));
}

/** One request, with one id slot to fill with B's id or an unknown one. */
interface Probe {
  label: string;
  method: string;
  url: (id: string) => string;
  body: ((id: string) => string) | undefined;
  b: string;
  unknown: string;
}

/** Values the schemas cannot express but the code checks, and the callers' own ids for every other reference. */
function hint(name: string, schema: JsonSchema): unknown {
  const plain: Record<string, unknown> = {
    timezone: 'UTC',
    password: 'correct horse battery staple',
    url: 'http://127.0.0.1:9/hook',
    host: '127.0.0.1',
    members: [ids.us?.a],
    userId: ids.us?.a,
    // A release version (major.minor.patch): a pattern the sampler does not generate.
    version: '1.2.3',
    // A requester's chat handles and logins (`kind:value`): a pattern the sampler does not generate.
    handles: ['login:census'],
  };
  if (name in plain) return plain[name];
  // Periods: days in reports, milliseconds elsewhere.
  if (name === 'from' || name === 'to')
    return schema.type === 'string' ? (name === 'from' ? '2026-01-01' : '2026-02-01') : name === 'from' ? 0 : 1000;
  const kind = KIND_OF_FIELD[name];
  const id = kind ? ids[kind]?.a : undefined;
  if (id === undefined) return undefined;
  return name === 'agentIds' ? [id] : id;
}

/** Every probe of a route: each path parameter, each id field of its query and of its body. */
function probesOf(route: RegisteredRoute): Probe[] {
  const rng = new Prng(7);
  const segments = route.url.split('/');
  const params = segments.flatMap((s, i) =>
    s.startsWith(':') && !GLOBAL_COLLECTIONS.has(segments[i - 1]!)
      ? [{ i, kind: KIND_OF_COLLECTION[segments[i - 1]!] }]
      : [],
  );
  const query = route.schema.querystring
    ? (sampleOf(route.schema.querystring as JsonSchema, rng, hint) as Record<string, unknown>)
    : {};
  const bodySchema = route.schema.body as JsonSchema | undefined;
  const body = bodySchema ? (sampleOf(bodySchema, rng, hint) as Record<string, unknown>) : undefined;
  const pathWith = (at: number | undefined, id: string) =>
    segments
      .map((s, i) => {
        if (!s.startsWith(':')) return s;
        const kind = KIND_OF_COLLECTION[segments[i - 1]!];
        return encodeURIComponent(i === at ? id : ((kind && ids[kind]?.a) ?? 'x'));
      })
      .join('/');
  const qs = (q: Record<string, unknown>) => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) for (const x of Array.isArray(v) ? v : [v]) s.append(k, String(x));
    return s.size ? `?${s}` : '';
  };
  const name = `${route.method} ${route.url}`;
  const probes: Probe[] = [];
  for (const p of params) {
    const pair = p.kind ? ids[p.kind] : undefined;
    if (!pair) throw new Error(`${name}: no fixture for the path parameter after ${segments[p.i - 1]}`);
    probes.push({
      label: `${name} path`,
      method: route.method,
      url: (id) => `${pathWith(p.i, id)}${qs(query)}`,
      body: body && (() => JSON.stringify(body)),
      b: pair.b,
      unknown: unknownLike(pair.b),
    });
  }
  for (const [field, kind] of Object.entries(KIND_OF_FIELD)) {
    const pair = ids[kind]!;
    const many = field === 'agentIds' || field === 'members';
    const inQuery = (route.schema.querystring as JsonSchema | undefined)?.properties?.[field];
    if (inQuery)
      probes.push({
        label: `${name} query ${field}`,
        method: route.method,
        url: (id) => `${pathWith(undefined, id)}${qs({ ...query, [field]: id })}`,
        body: body && (() => JSON.stringify(body)),
        b: pair.b,
        unknown: unknownLike(pair.b),
      });
    if (body && bodySchema?.properties?.[field])
      probes.push({
        label: `${name} body ${field}`,
        method: route.method,
        url: (id) => `${pathWith(undefined, id)}${qs(query)}`,
        body: (id) => JSON.stringify({ ...body, [field]: many ? [id] : id }),
        b: pair.b,
        unknown: unknownLike(pair.b),
      });
  }
  return probes;
}

/** The answer with both ids and the request id set aside. */
function normalise(body: string, ...idsToHide: string[]): string {
  let out = body;
  for (const id of idsToHide) out = out.replaceAll(id, '<id>');
  return out.replace(/"requestId":"[^"]*"/, '"requestId":"-"');
}

async function ask(caller: ApiTarget, probe: Probe, id: string) {
  const res = await c.collector.api.inject({
    method: probe.method as 'GET',
    url: probe.url(id),
    headers: {
      authorization: `Bearer ${caller.token}`,
      ...(probe.body ? { 'content-type': 'application/json' } : {}),
    },
    ...(probe.body ? { payload: probe.body(id) } : {}),
  });
  return { status: res.statusCode, body: res.body };
}

/** A technician socket's answer: the refused upgrade's status and body. */
function askSocket(caller: ApiTarget, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws: WebSocket = openTechSocket(caller, path);
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
        ws.terminate();
      });
    });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err);
    });
  });
}

describe('what a user may not see does not exist', () => {
  it("every route answers client B's ids exactly as unknown ids, for every role on client A", async () => {
    const probes = routes.flatMap(probesOf);
    // The census must cover what it claims: every resource kind and the routes that name them.
    expect(probes.filter((p) => p.label.endsWith(' path')).length).toBeGreaterThanOrEqual(35);
    const differences: string[] = [];
    const reachedTheLookup = new Set<string>();
    for (const role of ROLES) {
      const caller = callers[role]!;
      for (const probe of probes) {
        const [b, unknown] = [await ask(caller, probe, probe.b), await ask(caller, probe, probe.unknown)];
        if (b.status !== 400) reachedTheLookup.add(probe.label);
        const [nb, nu] = [normalise(b.body, probe.b), normalise(unknown.body, probe.unknown)];
        if (b.status !== unknown.status || nb !== nu)
          differences.push(`${role} ${probe.label}: B's id ${b.status} ${nb} / unknown ${unknown.status} ${nu}`);
      }
    }
    expect(differences).toEqual([]);
    // Not a census of validation errors: every probe got past its schema for some caller.
    expect(probes.map((p) => p.label).filter((l) => !reachedTheLookup.has(l))).toEqual([]);
  }, 120_000);

  it("the technician sockets refuse client B's agents and sessions exactly as unknown ones", async () => {
    const sockets = routes.filter((r) => r.websocket).map((r) => r.url);
    expect(sockets.sort()).toEqual([
      '/api/v1/agents/:id/files',
      '/api/v1/agents/:id/shell',
      '/api/v1/sessions/:id/join',
    ]);
    const paths: [string, string][] = [
      ['ag', '/api/v1/agents/{}/shell?cols=80&rows=24'],
      ['ag', '/api/v1/agents/{}/shell?elevated=true'],
      ['ag', '/api/v1/agents/{}/files?direction=download&path=%2Fetc%2Fhostname'],
      ['ag', '/api/v1/agents/{}/files?direction=upload&path=%2Ftmp%2Fx&size=1'],
      ['se', '/api/v1/sessions/{}/join'],
    ];
    const differences: string[] = [];
    for (const role of ROLES) {
      for (const [kind, path] of paths) {
        const b = ids[kind]!.b;
        const unknown = unknownLike(b);
        const [rb, ru] = [
          await askSocket(callers[role]!, path.replace('{}', b)),
          await askSocket(callers[role]!, path.replace('{}', unknown)),
        ];
        expect(rb.status, `${role} ${path}`).toBeGreaterThanOrEqual(400);
        const [nb, nu] = [normalise(rb.body, b), normalise(ru.body, unknown)];
        if (rb.status !== ru.status || nb !== nu)
          differences.push(`${role} ${path}: B's id ${rb.status} ${nb} / unknown ${ru.status} ${nu}`);
      }
    }
    expect(differences).toEqual([]);
  }, 60_000);

  it('a user who may see the machine but not do this is still told so (403), and every refusal is audited', async () => {
    const tier1 = callers.tier1!;
    const mine = await c.collector.api.inject({
      method: 'GET',
      url: `/api/v1/agents/${ids.ag!.a}/files?direction=download&path=%2Fetc%2Fhostname`,
      headers: { authorization: `Bearer ${tier1.token}` },
    });
    expect(mine.statusCode).toBe(403);
    expect(mine.json().error.code).toBe('OUTPOST_E_FORBIDDEN');
    const theirs = await c.collector.api.inject({
      method: 'GET',
      url: `/api/v1/agents/${ids.ag!.b}`,
      headers: { authorization: `Bearer ${tier1.token}` },
    });
    expect(theirs.statusCode).toBe(404);
    const audit = await apiCall<{ events: { result: string; resource: string | null; details: unknown }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=1000',
    );
    const denied = audit.events.filter((e) => e.result === 'denied' && e.resource === `agent:${ids.ag!.b}`);
    expect(denied.length).toBeGreaterThan(0);
    expect(denied[0]!.details).toEqual({ answered: 'OUTPOST_E_NOT_FOUND' });
  });
});
