/**
 * The console's API additions over real HTTPS against a real collector: the live stream (pushed presence, scoped to
 * the user's clients, refused to a cookie without the console's origin, bounded per user) and POST /api/v1/installers
 * (bad input refused with coded errors and no token spent, a viewer refused).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { openLive as openLiveOn } from '../support/live.js';
import { reportingAgent } from './hostile-agent.js';

let c: TestCollector;
let otherClient: string;
let otherSite: string;
let viewerB: ApiTarget;

/** Opens GET /api/v1/live on the test collector. */
const openLive = (headers: Record<string, string>) => openLiveOn(c.apiUrl, headers);

const waitFor = async (check: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

beforeAll(async () => {
  const packages = mkdtempSync(join(tmpdir(), 'outpost-live-installers-'));
  const body = Buffer.from('agent');
  writeFileSync(join(packages, 'outpost-agent-linux-x64'), body);
  writeFileSync(
    join(packages, 'manifest.json'),
    JSON.stringify({
      files: [
        {
          file: 'outpost-agent-linux-x64',
          platform: 'linux-x64',
          sha256: createHash('sha256').update(body).digest('hex'),
          size: body.length,
        },
      ],
    }),
  );
  c = await startTestCollector({ installers: { dir: packages, downloadsPerMinute: 60 } });
  otherClient = (await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/clients', { name: 'Other' })).id;
  otherSite = (await apiCall<{ id: string }>(c.admin, 'POST', `/api/v1/clients/${otherClient}/sites`, { name: 'B1' }))
    .id;
  await apiCall(c.admin, 'POST', '/api/v1/users', {
    email: 'viewer-b@example.com',
    name: 'Viewer B',
    password: 'a long password',
    roles: [{ role: 'viewer', clientId: otherClient }],
  });
  const base = { server: c.apiUrl, caFingerprint: c.fingerprint };
  const s = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', {
    email: 'viewer-b@example.com',
    password: 'a long password',
  });
  viewerB = { ...base, token: s.token };
}, 30_000);

afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
});

describe('GET /api/v1/live', () => {
  it('pushes an agent coming online and leaving, only to users who may see its client', async () => {
    const admin = openLive({ authorization: `Bearer ${c.admin.token}` });
    const other = openLive({ authorization: `Bearer ${viewerB.token}` });
    const [a, b] = await Promise.all([admin.res, other.res]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const agent = await reportingAgent(c.agentUrl, (await c.enrollmentToken()).token, {
      hostname: 'live-01',
      os: { platform: 'linux', distro: 'Debian', release: '13', kernel: '6.12', arch: 'x64' },
      cpu: { model: 'x', cores: 1 },
      memoryBytes: 1024 ** 3,
    });
    const events = () =>
      admin.frames
        .filter((f) => f.startsWith('event: agent.presence'))
        .map((f) => JSON.parse(f.split('\ndata: ')[1]!) as { agentId: string; status: string; clientId: string });
    await waitFor(() => events().some((e) => e.agentId === agent.agentId && e.status === 'online'));
    agent.agent.close();
    await waitFor(() => events().some((e) => e.agentId === agent.agentId && e.status === 'offline'));
    expect(events().find((e) => e.agentId === agent.agentId)?.clientId).toBe(c.clientId);
    // Client Other's viewer got the stream's opening and nothing about Acme's machine.
    expect(other.frames.join('\n')).not.toContain(agent.agentId);
    a.close();
    b.close();
  });

  it('ends the stream of a user whose roles change, at once: its client scope was the old roles', async () => {
    const who = { email: 'viewer-ab@example.com', password: 'a long password' };
    const user = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/users', {
      ...who,
      name: 'Viewer AB',
      roles: [
        { role: 'viewer', clientId: c.clientId },
        { role: 'viewer', clientId: otherClient },
      ],
    });
    const base = { server: c.apiUrl, caFingerprint: c.fingerprint };
    const { token } = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', who);
    const live = openLive({ authorization: `Bearer ${token}` });
    expect((await live.res).status).toBe(200);
    expect(live.ended()).toBe(false);
    // Before: the stream stayed open with Acme in its scope, pushing Acme's machines to a user who lost Acme.
    await apiCall(c.admin, 'PUT', `/api/v1/users/${user.id}/roles`, {
      roles: [{ role: 'viewer', clientId: otherClient }],
    });
    await waitFor(() => live.ended());
  });

  it('refuses a cookie without the console origin, and a ninth stream of one user', async () => {
    const cookie = { cookie: `outpost_session=${c.admin.token}` };
    const noOrigin = await openLive(cookie).res;
    expect(noOrigin.status).toBe(403);
    await waitFor(() => noOrigin.body.includes('OUTPOST_E_ORIGIN_REFUSED'));
    const evil = await openLive({ ...cookie, origin: 'https://evil.example' }).res;
    expect(evil.status).toBe(403);
    const own = await openLive({ ...cookie, 'sec-fetch-site': 'same-origin' }).res;
    expect(own.status).toBe(200);
    own.close();
    const streams = await Promise.all(
      Array.from({ length: 8 }, () => openLive({ authorization: `Bearer ${viewerB.token}` }).res),
    );
    expect(streams.map((s) => s.status)).toEqual(Array(8).fill(200));
    const ninth = await openLive({ authorization: `Bearer ${viewerB.token}` }).res;
    expect(ninth.status).toBe(429);
    await waitFor(() => ninth.body.includes('OUTPOST_E_LIVE_LIMIT'));
    for (const s of streams) s.close();
  });
});

describe('POST /api/v1/installers', () => {
  const tokens = async () =>
    (await apiCall<{ tokens: unknown[] }>(c.admin, 'GET', '/api/v1/enrollment-tokens')).tokens.length;

  it('refuses a platform the collector cannot serve, spending no token', async () => {
    const before = await tokens();
    await expect(
      apiCall(c.admin, 'POST', '/api/v1/installers', { siteId: c.siteId, platforms: ['darwin-arm64'] }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_INSTALLER_UNAVAILABLE' });
    await expect(
      apiCall(c.admin, 'POST', '/api/v1/installers', { siteId: c.siteId, agentServer: 'javascript:alert(1)' }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_BAD_REQUEST' });
    await expect(apiCall(c.admin, 'POST', '/api/v1/installers', { siteId: 'st_nope' })).rejects.toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
    });
    expect(await tokens()).toBe(before);
  });

  it('refuses a viewer, and answers another client’s site as unknown', async () => {
    await expect(apiCall(viewerB, 'POST', '/api/v1/installers', { siteId: otherSite })).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    await expect(apiCall(viewerB, 'POST', '/api/v1/installers', { siteId: c.siteId })).rejects.toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
    });
  });

  it('answers the one-liners for the served platform with the certificate pinned', async () => {
    const r = await apiCall<{
      installers: { platform: string; shell?: string }[];
      certificate: { fingerprint: string };
    }>(c.admin, 'POST', '/api/v1/installers', { siteId: c.siteId, maxUses: 2 });
    expect(r.certificate.fingerprint).toBe(c.fingerprint);
    expect(r.installers.map((i) => i.platform)).toEqual(['linux-x64']);
    expect(r.installers[0]!.shell).toContain('sha256sum -c -');
  });
});
