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
import { type ApiTarget, apiCall, inventory } from '@outpost/collector';
import { isErrorCode } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseMaker, problemWith } from '../support/api-fuzz-cases.js';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { fuzzSeed, Prng } from '../support/fuzz.js';
import { enrolledIdentity } from '../support/raw-agent.js';

const SEED = fuzzSeed(31);
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
    // What the stream sink does after an inventory report: the inventory rules judge it now (AV off, licence
    // expired), so the incidents they open exist before the state is counted, not when a fuzzed policy reload or the
    // hourly sweep gets to them mid-run.
    await c.collector.detection.evaluateInventory(agentId);
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
]);

/** What a successful call to a route does to the counts above (only these routes may change them). */
const EFFECTS: Record<string, [string, number]> = {
  'POST /api/v1/clients': ['clients', 1],
  'POST /api/v1/clients/:clientId/sites': ['sites', 1],
  'POST /api/v1/agents/:id/revoke': ['revokedAgents', 1],
  'POST /api/v1/users': ['users', 1],
  'POST /api/v1/incidents': ['incidents', 1],
  'POST /api/v1/requests/calls': ['incidents', 1],
  'POST /api/v1/enrollment-tokens': ['enrollmentTokens', 1],
  'POST /api/v1/installers': ['enrollmentTokens', 1],
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
      // The live stream never ends when it is accepted (Server-Sent Events): `inject` would wait forever. Its hostile
      // input (cookies without the console's origin, too many streams) is tested over HTTPS in
      // test/console/live-api.test.ts.
      const routes = [...c.collector.routes]
        .filter((r) => r.url !== '/api/v1/live')
        .sort((x, y) => Number(x.url === '/api/v1/auth/logout') - Number(y.url === '/api/v1/auth/logout'));
      const problems: string[] = [];
      const effects: Record<string, number> = {};
      let sent = 0;
      for (const [token, isViewer, perRoute] of [
        [admin, false, 30],
        [viewer, true, 12],
      ] as const) {
        for (const route of routes) {
          const maker = new CaseMaker({ ids, receiverUrl }, rng, route, token, isViewer);
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
            const problem = problemWith(res, performance.now() - started, MAX_RESPONSE_MS);
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
