/**
 * Shell refusals: no permission (403, audit row, nothing spawned), cross-origin sockets, forged / expired /
 * replayed / mis-bound tickets sent straight to the agent, and path-traversal payloads with canaries untouched.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { apiCall, downloadFile, ShellClient } from '@outpost/collector';
import { type AgentMessage, signTicket, type TicketClaims } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRAVERSAL_PAYLOADS } from '../../agent/src/files/traversal-payloads.js';
import { startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { OutputBuffer, type ShellAgent, startShellAgent, technician } from '../support/shell.js';

let c: TestCollector;
let agent: ShellAgent;
const dir = tempDir('shell-sec');
const root = join(dir.path, 'files');
const outside = join(dir.path, 'outside');
const replies: AgentMessage[] = [];

beforeAll(async () => {
  c = await startTestCollector({ sessions: { allowedOrigins: ['https://console.example'] } } as never);
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'canary.txt'), 'canary');
  writeFileSync(join(root, 'file.txt'), 'inside');
  symlinkSync(outside, join(root, 'link-out'));
  symlinkSync(join(outside, 'canary.txt'), join(root, 'link-file'));
  agent = await startShellAgent(c, join(dir.path, 'agent'), { fileRoots: [root] });
  const sessions = c.collector.sessions;
  const original = sessions.onReply.bind(sessions);
  sessions.onReply = (conn, msg) => {
    replies.push(msg);
    original(conn, msg);
  };
});
afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

let n = 0;
const sessionId = () => `ss_${(++n).toString(16).padStart(24, '0')}`;
const claims = (sid: string, over: Partial<TicketClaims> = {}): TicketClaims => ({
  v: 1,
  tid: `tid-${sid}-${Math.random().toString(36).slice(2)}`,
  agentId: agent.agentId,
  sessionId: sid,
  userId: 'us_test',
  user: 'attacker@example.com',
  caps: ['shell'],
  iat: Date.now(),
  exp: Date.now() + 30_000,
  ...over,
});
const validTicket = (sid: string, over: Partial<TicketClaims> = {}) =>
  signTicket(
    (c.collector.sessions as unknown as { key: { privateKey: import('node:crypto').KeyObject } }).key.privateKey,
    claims(sid, over),
  );

async function sendOpen(sid: string, ticket: string, channel: number, elevated = false) {
  c.collector.registry.get(agent.agentId)!.send({
    type: 'shell.open',
    id: `cmd-${sid}-${channel}`,
    expiresAt: Date.now() + 10_000,
    sessionId: sid,
    channel,
    ticket,
    cols: 80,
    rows: 24,
    elevated,
  });
  return reply(channel);
}
async function reply(channel: number) {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const r = replies.find((m) => 'channel' in m && m.channel === channel);
    if (r) return r as Extract<AgentMessage, { channel: number }>;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`no reply on channel ${channel}`);
}
const agentLog = () => agent.proc.stdout() + agent.proc.stderr();

describe('shell refusals', () => {
  it('refuses a user without the shell permission with 403, an audit row, and nothing spawned', async () => {
    const viewer = await technician(c, 'viewer');
    const before = (agentLog().match(/shell session opened/g) ?? []).length;
    await expect(ShellClient.open(viewer, agent.agentId)).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
      details: { status: 403 },
    });
    const tier1 = await technician(c, 'tier1');
    await expect(ShellClient.open(tier1, agent.agentId, { elevated: true })).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    const audit = await apiCall<{ events: { type: string; result: string; agentId: string | null }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=1000',
    );
    expect(
      audit.events.filter((e) => e.type === 'shell' && e.result === 'denied' && e.agentId === agent.agentId),
    ).toHaveLength(1);
    expect(audit.events.filter((e) => e.type === 'shell.elevated' && e.result === 'denied')).toHaveLength(1);
    // An absence: the agent must never open the refused sessions.
    await new Promise((r) => setTimeout(r, 200));
    expect((agentLog().match(/shell session opened/g) ?? []).length).toBe(before);
  });

  it('refuses a cross-origin WebSocket and audits it', async () => {
    await expect(ShellClient.open(c.admin, agent.agentId, { origin: 'https://evil.example' })).rejects.toMatchObject({
      code: 'OUTPOST_E_ORIGIN_REFUSED',
    });
    await expect(
      ShellClient.open(c.admin, agent.agentId, { origin: 'https://console.example.evil' }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_ORIGIN_REFUSED' });
    const audit = await apiCall<{ events: { code: string }[] }>(c.admin, 'GET', '/api/v1/audit?limit=1000');
    expect(audit.events.filter((e) => e.code === 'OUTPOST_E_ORIGIN_REFUSED').length).toBe(2);
    const ok = await ShellClient.open(c.admin, agent.agentId, { origin: 'https://console.example' });
    ok.close();
    await ok.ended;
  });

  it('lets only holders of the permission that opened a session watch it, list it or replay it', async () => {
    const tier1 = await technician(c, 'tier1');
    const tier2 = await technician(c, 'tier2');
    const tier3 = await technician(c, 'tier3');
    // An administrator's root shell, live.
    const rootShell = await ShellClient.open(c.admin, agent.agentId, { elevated: true });
    const out = new OutputBuffer();
    rootShell.onData(out.push);
    const rec = () => apiCall(tier1, 'GET', `/api/v1/sessions/${rootShell.sessionId}/recording`);
    // A tier-1 technician (shell only) cannot join it, read its row or see it listed; tier 3 (shell.elevated) can.
    await expect(ShellClient.open(tier1, '', { joinSessionId: rootShell.sessionId })).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    await expect(apiCall(tier1, 'GET', `/api/v1/sessions/${rootShell.sessionId}`)).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
    });
    const watcher = await ShellClient.open(tier3, '', { joinSessionId: rootShell.sessionId });
    const watched = new OutputBuffer();
    watcher.onData(watched.push);
    rootShell.write('echo root-$((40+2))\n');
    await watched.waitFor(/root-42/);
    rootShell.write('exit\n');
    await rootShell.ended;
    await watcher.ended;
    // Its recording: refused to tier 1 and 2, served to tier 3.
    for (let i = 0; i < 100; i++) {
      const r = await apiCall<{ recordingStatus: string }>(c.admin, 'GET', `/api/v1/sessions/${rootShell.sessionId}`);
      if (r.recordingStatus === 'ok') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    await expect(rec()).rejects.toMatchObject({ code: 'OUTPOST_E_FORBIDDEN' });
    await expect(
      apiCall(tier2, 'GET', `/api/v1/sessions/${rootShell.sessionId}/recording?gzip=true`),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_FORBIDDEN' });
    expect(await apiCall<string>(tier3, 'GET', `/api/v1/sessions/${rootShell.sessionId}/recording`)).toContain(
      'root-42',
    );
    // A plain shell is visible to tier 1; a download (file.read) is not, but is to tier 2.
    const plain = await ShellClient.open(c.admin, agent.agentId);
    plain.close();
    await plain.ended;
    const down = await downloadFile(c.admin, agent.agentId, join(root, 'file.txt'), join(dir.path, 'got.txt'));
    const ids = async (who: typeof tier1) =>
      (await apiCall<{ sessions: { id: string }[] }>(who, 'GET', '/api/v1/sessions?limit=1000')).sessions.map(
        (x) => x.id,
      );
    const seen1 = await ids(tier1);
    expect(seen1).toContain(plain.sessionId);
    expect(seen1).not.toContain(rootShell.sessionId);
    expect(seen1).not.toContain(down.sessionId);
    const seen2 = await ids(tier2);
    expect(seen2).toContain(down.sessionId);
    expect(seen2).not.toContain(rootShell.sessionId);
    expect(await ids(tier3)).toEqual(expect.arrayContaining([rootShell.sessionId, plain.sessionId, down.sessionId]));
    // Each refusal is audited as the permission it lacked.
    const audit = await apiCall<{ events: { type: string; result: string; resource: string | null }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=1000',
    );
    const denied = audit.events.filter(
      (e) => e.type === 'shell.elevated' && e.result === 'denied' && e.resource === `session:${rootShell.sessionId}`,
    );
    expect(denied.length).toBe(4);
  });

  it('cuts the shells and watches of a user the moment an admin disables them, with the reason on record', async () => {
    const tech = await technician(c, 'tier3');
    const { id } = await apiCall<{ id: string }>(tech, 'GET', '/api/v1/auth/me');
    const shell = await ShellClient.open(tech, agent.agentId);
    const out = new OutputBuffer();
    shell.onData(out.push);
    shell.write('echo alive-$((6*7))\n');
    await out.waitFor(/alive-42/);
    // The same user also watches an administrator's shell, which must go on without them.
    const adminShell = await ShellClient.open(c.admin, agent.agentId);
    const watch = await ShellClient.open(tech, '', { joinSessionId: adminShell.sessionId });

    await apiCall(c.admin, 'POST', `/api/v1/users/${id}/disable`, {});
    const [mine, watched] = await Promise.all([shell.ended, watch.ended]);
    expect(mine.exitCode).toBeNull();
    expect(watched.exitCode).toBeNull();
    // The client sees the socket close before the collector has written the row's end: wait for it.
    const row = async () =>
      apiCall<{ closeReason: string | null; endedAt: unknown }>(c.admin, 'GET', `/api/v1/sessions/${shell.sessionId}`);
    for (const until = Date.now() + 5000; (await row()).endedAt === null && Date.now() < until; )
      await new Promise((r) => setTimeout(r, 20));
    expect((await row()).endedAt).not.toBeNull();
    expect((await row()).closeReason).toBe('user disabled');
    // The administrator's own shell is untouched.
    const adminOut = new OutputBuffer();
    adminShell.onData(adminOut.push);
    adminShell.write('echo still-$((40+2))\n');
    await adminOut.waitFor(/still-42/);
    adminShell.close();
    await adminShell.ended;
  });

  it('has the agent refuse forged, tampered, expired, mis-bound, under-privileged and replayed tickets', async () => {
    const opened = () => (agentLog().match(/shell session opened/g) ?? []).length;
    const before = opened();
    const other = generateKeyPairSync('ed25519').privateKey;
    const cases: [string, string, string, boolean][] = [];
    const add = (name: string, make: (sid: string) => string, elevated = false) => {
      const sid = sessionId();
      cases.push([name, sid, make(sid), elevated]);
    };
    add('forged', (sid) => signTicket(other, claims(sid)));
    add(
      'tampered',
      (sid) => {
        const [body, sig] = validTicket(sid).split('.');
        const claimsIn = JSON.parse(Buffer.from(body!, 'base64url').toString()) as TicketClaims;
        return `${Buffer.from(JSON.stringify({ ...claimsIn, caps: ['shell.elevated'] })).toString('base64url')}.${sig}`;
      },
      true,
    );
    add('expired', (sid) => validTicket(sid, { iat: Date.now() - 90_000, exp: Date.now() - 30_000 }));
    add('too long', (sid) => validTicket(sid, { exp: Date.now() + 3_600_000 }));
    add('other agent', (sid) => validTicket(sid, { agentId: 'ag_000000000000000000000000' }));
    add('other session', () => validTicket(sessionId()));
    add('not elevated', (sid) => validTicket(sid), true);
    add('garbage', () => 'abc.def');
    let channel = 1000;
    for (const [name, sid, ticket, elevated] of cases) {
      const r = await sendOpen(sid, ticket, ++channel, elevated);
      expect(r, name).toMatchObject({ type: 'shell.refused', code: 'OUTPOST_E_TICKET_INVALID' });
    }
    // A valid ticket opens once; the same ticket replayed (new channel, after close) is refused.
    const replaySid = sessionId();
    const once = validTicket(replaySid);
    expect(await sendOpen(replaySid, once, ++channel)).toMatchObject({ type: 'shell.opened' });
    c.collector.registry.get(agent.agentId)!.send({ type: 'shell.close', channel, reason: 'test' });
    // The agent answers a close with no message to wait for; the replay must come after it has closed.
    await new Promise((r) => setTimeout(r, 200));
    const replayed = await sendOpen(replaySid, once, ++channel);
    expect(replayed).toMatchObject({ type: 'shell.refused', code: 'OUTPOST_E_TICKET_INVALID' });
    expect((replayed as { message: string }).message).toMatch(/already used/);
    expect(opened() - before).toBe(1);
  });

  it(`refuses ${TRAVERSAL_PAYLOADS.length} path-traversal payloads sent to the agent and leaves the canaries untouched`, async () => {
    expect(TRAVERSAL_PAYLOADS.length).toBeGreaterThanOrEqual(30);
    let channel = 5000;
    for (const p of TRAVERSAL_PAYLOADS) {
      const path = p.replaceAll('{root}', root).replaceAll('{out}', basename(outside)) || 'x';
      for (const direction of ['download', 'upload'] as const) {
        const sid = sessionId();
        const ch = ++channel;
        const ticket = validTicket(sid, { caps: [direction === 'download' ? 'file.read' : 'file.write'] });
        c.collector.registry.get(agent.agentId)!.send({
          type: 'file.open',
          id: `f-${ch}`,
          expiresAt: Date.now() + 10_000,
          sessionId: sid,
          channel: ch,
          ticket,
          direction,
          path,
          offset: 0,
          size: 1024,
        });
        const r = await reply(ch);
        expect(r.type, `${direction} ${JSON.stringify(p)}`).toBe('shell.refused');
        expect(['OUTPOST_E_PATH_REFUSED', 'OUTPOST_E_NOT_FOUND']).toContain((r as { code: string }).code);
      }
    }
    expect(readFileSync(join(outside, 'canary.txt'), 'utf8')).toBe('canary');
    expect(readFileSync(join(root, 'file.txt'), 'utf8')).toBe('inside');
    // The same agent serves a plain path inside the root.
    const sid = sessionId();
    c.collector.registry.get(agent.agentId)!.send({
      type: 'file.open',
      id: 'f-ok',
      expiresAt: Date.now() + 10_000,
      sessionId: sid,
      channel: 9999,
      ticket: validTicket(sid, { caps: ['file.read'] }),
      direction: 'download',
      path: join(root, 'file.txt'),
      offset: 0,
      size: 1024,
    });
    expect(await reply(9999)).toMatchObject({ type: 'file.opened', size: 6 });
  });
});
