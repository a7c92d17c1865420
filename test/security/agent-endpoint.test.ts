/**
 * Every refusal of the agent endpoint: a clear close code, an audit row where a token or key is involved, and
 * nothing written.
 */
import { apiCall } from '@outpost/collector';
import { encodeFrame, FrameKind } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { enrolledIdentity, newKeys, RawAgent, testFacts } from '../support/raw-agent.js';

let c: TestCollector;
/** The collector's clock: real time plus what a test has skipped (an expiry is reached without waiting for it). */
let skippedMs = 0;
const clock = { now: () => Date.now() + skippedMs };
const countOf = async (table: string) =>
  (await c.collector.sql.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))?.n ?? 0;
const agentRows = () => countOf('agents');
const eventRows = () => countOf('agent_events');
const audit = async (code: string) =>
  (
    await apiCall<{ events: { code: string; result: string; remoteIp: string | null }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=1000',
    )
  ).events.filter((e) => e.code === code);

beforeAll(async () => {
  c = await startTestCollector(
    {
      limits: {
        helloTimeoutMs: 400,
        agentMessagesPerSecond: 20,
        agentMessageBurst: 50,
        agentMaxPayloadBytes: 64 * 1024,
      },
    } as never,
    { clock },
  );
});
afterAll(async () => c?.[Symbol.asyncDispose]());

/** Connects, runs `act`, and returns how the collector closed the socket. */
async function closeOf(act: (a: RawAgent) => Promise<void> | void) {
  const a = await RawAgent.connect(c.agentUrl);
  await act(a);
  return a.closed;
}

describe('enrollment refusals', () => {
  it('refuses an expired token, with an audit row and no agent', async () => {
    const t = await c.enrollmentToken({ expiresInHours: 0.0002 }); // 0.72 s
    skippedMs += 1000;
    const before = await agentRows();
    const closed = await closeOf((a) => a.enroll(t.token, newKeys()));
    expect(closed).toEqual({ code: 4011, reason: 'OUTPOST_E_ENROLL_TOKEN_EXPIRED' });
    expect(await agentRows()).toBe(before);
    expect((await audit('OUTPOST_E_ENROLL_TOKEN_EXPIRED')).length).toBeGreaterThan(0);
  });

  it('refuses an exhausted token', async () => {
    const t = await c.enrollmentToken({ maxUses: 1 });
    await enrolledIdentity(c.agentUrl, t.token);
    const before = await agentRows();
    const closed = await closeOf((a) => a.enroll(t.token, newKeys()));
    expect(closed).toEqual({ code: 4012, reason: 'OUTPOST_E_ENROLL_TOKEN_EXHAUSTED' });
    expect(await agentRows()).toBe(before);
    expect((await audit('OUTPOST_E_ENROLL_TOKEN_EXHAUSTED')).length).toBe(1);
  });

  it('refuses a revoked token', async () => {
    const t = await c.enrollmentToken({ maxUses: 5 });
    await apiCall(c.admin, 'POST', `/api/v1/enrollment-tokens/${t.id}/revoke`, {});
    const before = await agentRows();
    const closed = await closeOf((a) => a.enroll(t.token, newKeys()));
    expect(closed).toEqual({ code: 4013, reason: 'OUTPOST_E_ENROLL_TOKEN_REVOKED' });
    expect(await agentRows()).toBe(before);
    expect((await audit('OUTPOST_E_ENROLL_TOKEN_REVOKED')).length).toBe(1);
  });

  it('answers a malformed token (cut short, another kind) as an invalid token, not as a protocol error', async () => {
    for (const token of ['abc', 'oet_1', 'opt_000000000000_AAAA']) {
      const closed = await closeOf((a) => a.enroll(token, newKeys()));
      expect(closed, token).toEqual({ code: 4010, reason: 'OUTPOST_E_ENROLL_TOKEN_INVALID' });
    }
  });

  it('refuses a token that is not one (wrong secret for a real id)', async () => {
    const t = await c.enrollmentToken();
    const forged = `${t.token.slice(0, -4)}AAAA`;
    const closed = await closeOf((a) => a.enroll(forged, newKeys()));
    expect(closed.code).toBe(4010);
    expect(
      (
        await apiCall<{ tokens: { id: string; uses: number }[] }>(c.admin, 'GET', '/api/v1/enrollment-tokens')
      ).tokens.find((x) => x.id === t.id)?.uses,
    ).toBe(0);
  });

  it('refuses an enrollment signed by another key than the one presented, without spending the token', async () => {
    const t = await c.enrollmentToken();
    const keys = newKeys();
    const closed = await closeOf((a) => a.enroll(t.token, keys, newKeys().privateKey));
    expect(closed).toEqual({ code: 4016, reason: 'OUTPOST_E_SIGNATURE_INVALID' });
    const token = (
      await apiCall<{ tokens: { id: string; uses: number }[] }>(c.admin, 'GET', '/api/v1/enrollment-tokens')
    ).tokens.find((x) => x.id === t.id);
    expect(token?.uses).toBe(0);
  });
});

describe('authentication refusals', () => {
  it('refuses a hello signed by another key, with an audit row', async () => {
    const { agentId } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    const before = (await audit('OUTPOST_E_SIGNATURE_INVALID')).length;
    const closed = await closeOf((a) => a.keyAuth(agentId, newKeys().privateKey));
    expect(closed).toEqual({ code: 4016, reason: 'OUTPOST_E_SIGNATURE_INVALID' });
    const rows = await audit('OUTPOST_E_SIGNATURE_INVALID');
    expect(rows.length).toBe(before + 1);
    expect(rows[0]?.remoteIp).toBe('127.0.0.1');
  });

  it('refuses an unknown agent id', async () => {
    const closed = await closeOf((a) => a.keyAuth(`ag_${'0'.repeat(24)}`, newKeys().privateKey));
    expect(closed.code).toBe(4014);
  });

  it('refuses an unsupported protocol version', async () => {
    const closed = await closeOf(async (a) => {
      await a.nonce();
      a.sendJson({
        type: 'agent.hello',
        protocolVersion: 999,
        agentVersion: 'x',
        auth: { method: 'key', agentId: `ag_${'1'.repeat(24)}`, signature: 'A'.repeat(86) },
        facts: testFacts,
      });
    });
    expect(closed.code).toBe(4426);
  });

  it('refuses data before the hello, binary or JSON', async () => {
    expect(
      await closeOf((a) => a.sendJson({ type: 'agent.heartbeat', time: Date.now(), uptimeSec: 1, outboxPending: 0 })),
    ).toEqual({ code: 4401, reason: 'OUTPOST_E_HELLO_REQUIRED' });
    expect((await closeOf((a) => a.ws.send(encodeFrame(FrameKind.Data, 1, Buffer.from('ls\n'))))).code).toBe(4401);
  });

  it('closes a socket that never says hello', async () => {
    expect((await closeOf(() => undefined)).code).toBe(4408);
  });
});

describe('message refusals after the handshake', () => {
  async function ready() {
    const { agentId, keys } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    const a = await RawAgent.connect(c.agentUrl);
    await a.keyAuth(agentId, keys.privateKey);
    await a.next('collector.welcome');
    return { a, agentId };
  }
  const event = (seq: number, extra: Record<string, unknown> = {}) => ({
    type: 'stream.event',
    seq,
    time: Date.now(),
    kind: 'test',
    data: { n: seq },
    ...extra,
  });

  it('stores a valid event and acknowledges it', async () => {
    const { a } = await ready();
    const before = await eventRows();
    a.sendJson(event(1));
    expect((await a.next('stream.ack')).seq).toBe(1);
    expect(await eventRows()).toBe(before + 1);
    a.close();
  });

  it("refuses an agent claiming another agent's id in a payload, storing nothing", async () => {
    const other = await ready();
    const { a } = await ready();
    const before = await eventRows();
    a.sendJson(event(1, { agentId: other.agentId }));
    const closed = await a.closed;
    expect(closed).toEqual({ code: 4400, reason: 'OUTPOST_E_BAD_MESSAGE' });
    await c.collector.ingest.idle();
    expect(await eventRows()).toBe(before);
    other.a.close();
  });

  it.each([
    ['malformed JSON', '{"type": "stream.event", '],
    ['a schema violation', JSON.stringify({ type: 'stream.event', seq: 0, time: 1, kind: 'test', data: {} })],
    ['an unknown message type', JSON.stringify({ type: 'shell.open', seq: 1 })],
    [
      'a __proto__ payload',
      '{"type":"stream.event","seq":1,"time":1,"kind":"test","data":{"__proto__":{"polluted":true}}}',
    ],
    [
      'a nested constructor key',
      '{"type":"agent.heartbeat","time":1,"uptimeSec":1,"outboxPending":0,"constructor":{"prototype":{"x":1}}}',
    ],
  ])('refuses %s with 4400 and stores nothing', async (_name, frame) => {
    const { a } = await ready();
    const before = await eventRows();
    a.sendJson(frame);
    expect(await a.closed).toEqual({ code: 4400, reason: 'OUTPOST_E_BAD_MESSAGE' });
    await c.collector.ingest.idle();
    expect(await eventRows()).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses an oversized frame', async () => {
    const { a } = await ready();
    a.sendJson(event(1, { data: { big: 'x'.repeat(70 * 1024) } }));
    expect((await a.closed).code).toBe(1009);
  });

  it('refuses a second hello', async () => {
    const { a, agentId } = await ready();
    a.sendJson({
      type: 'agent.hello',
      protocolVersion: 1,
      agentVersion: 'x',
      auth: { method: 'key', agentId, signature: 'A'.repeat(86) },
      facts: testFacts,
    });
    expect((await a.closed).code).toBe(4402);
  });

  it('takes a heartbeat (the backlog it announces is recorded) and ignores a reply on a channel nobody opened', async () => {
    const { a, agentId } = await ready();
    a.sendJson({ type: 'agent.heartbeat', time: Date.now(), uptimeSec: 1, outboxPending: 7 });
    await expect.poll(() => c.collector.registry.get(agentId)?.outboxPending, { timeout: 5000 }).toBe(7);
    a.sendJson({ type: 'shell.exit', channel: 99, sessionId: 'ss_000000000000000000000000', exitCode: 0, signal: 0 });
    a.sendJson({ type: 'agent.heartbeat', time: Date.now(), uptimeSec: 2, outboxPending: 3 });
    await expect.poll(() => c.collector.registry.get(agentId)?.outboxPending, { timeout: 5000 }).toBe(3);
    expect(c.collector.registry.get(agentId)?.open).toBe(true);
    a.close();
  });

  it('closes a connection that exceeds its message rate', async () => {
    const { a } = await ready();
    for (let i = 0; i < 200; i++)
      a.sendJson({ type: 'agent.heartbeat', time: Date.now(), uptimeSec: 1, outboxPending: 0 });
    expect(await a.closed).toEqual({ code: 4429, reason: 'OUTPOST_E_RATE_LIMITED' });
  });

  it('keeps one live connection per agent identity', async () => {
    const { agentId, keys } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    const first = await RawAgent.connect(c.agentUrl);
    await first.keyAuth(agentId, keys.privateKey);
    await first.next('collector.welcome');
    const second = await RawAgent.connect(c.agentUrl);
    await second.keyAuth(agentId, keys.privateKey);
    await second.next('collector.welcome');
    expect(await first.closed).toEqual({ code: 4409, reason: 'OUTPOST_E_REPLACED' });
    expect(c.collector.registry.get(agentId)?.open).toBe(true);
    second.close();
  });

  it('closes a revoked agent within seconds and refuses it afterwards', async () => {
    const { agentId, keys } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    const a = await RawAgent.connect(c.agentUrl);
    await a.keyAuth(agentId, keys.privateKey);
    await a.next('collector.welcome');
    const t0 = Date.now();
    await apiCall(c.admin, 'POST', `/api/v1/agents/${agentId}/revoke`, {});
    expect(await a.closed).toEqual({ code: 4015, reason: 'OUTPOST_E_AGENT_REVOKED' });
    expect(Date.now() - t0).toBeLessThan(3000);
    const again = await closeOf((b) => b.keyAuth(agentId, keys.privateKey));
    expect(again.code).toBe(4015);
    expect((await audit('OUTPOST_I_AGENT_REVOKED')).length).toBeGreaterThan(0);
  });
});
