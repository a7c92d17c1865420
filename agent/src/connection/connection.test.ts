/**
 * The connection state machine against a real WebSocket server on loopback that plays the collector's part
 * (a small scripted peer: the agent suites also run on Node 24, where the collector's SQLite addon is not built).
 */
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  type AgentHello,
  agentMessages,
  exportPublicKey,
  PROTOCOL_VERSION,
  signAuthProof,
  verifyAuthProof,
} from '@outpost/shared';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { backoffDelay, retryAfterMs } from './backoff.js';
import { ConnectionManager, type ConnectionState } from './connection.js';
import type { Session } from './dial.js';

const logger = pino({ level: process.env.TLOG ?? 'silent' });
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const pub = exportPublicKey(publicKey);
const agentId = `ag_${'c'.repeat(24)}`;
const facts = {
  hostname: 'h',
  os: { platform: 'linux', distro: 'd', release: 'r', kernel: 'k', arch: 'x64' },
  cpu: { model: 'm', cores: 1 },
  memoryBytes: 1,
};
const hello = (nonce: string): AgentHello => ({
  type: 'agent.hello',
  protocolVersion: PROTOCOL_VERSION,
  agentVersion: 'test',
  auth: { method: 'key', agentId, signature: signAuthProof(privateKey, nonce, 'key', agentId) },
  facts,
});

/** A scripted collector: `plan[i]` decides what connection i gets. */
async function fakeCollector(plan: ('busy' | 'welcome' | 'revoked')[]) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const times: number[] = [];
  let verified = 0;
  wss.on('connection', (ws) => {
    const step = plan[Math.min(times.length, plan.length - 1)];
    times.push(Date.now());
    if (step === 'busy') return ws.close(4503, 'OUTPOST_E_UNAVAILABLE retry_after=1');
    const nonce = `nonce${times.length}`;
    ws.send(
      JSON.stringify({
        type: 'collector.challenge',
        nonce,
        protocolVersion: 1,
        minProtocolVersion: 1,
        serverTime: Date.now(),
      }),
    );
    ws.once('message', (data) => {
      const msg = agentMessages.decode(data.toString());
      if (msg.type !== 'agent.hello' || msg.auth.method !== 'key') return ws.close(4401, 'OUTPOST_E_HELLO_REQUIRED');
      if (!verifyAuthProof(pub, nonce, 'key', agentId, msg.auth.signature))
        return ws.close(4016, 'OUTPOST_E_SIGNATURE_INVALID');
      verified++;
      if (step === 'revoked') return ws.close(4015, 'OUTPOST_E_AGENT_REVOKED');
      ws.send(
        JSON.stringify({
          type: 'collector.welcome',
          agentId,
          protocolVersion: 1,
          lastSeq: 7,
          heartbeatIntervalMs: 1000,
          messagesPerSecond: 100,
          messageBurst: 100,
          serverTime: Date.now(),
          enrolled: false,
          clientId: 'c',
          siteId: 's',
        }),
      );
    });
  });
  const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  return {
    wss,
    url,
    times,
    verified: () => verified,
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(r);
      }),
  };
}

const managers: ConnectionManager[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
});

describe('backoff', () => {
  it('is full jitter under a capped exponential ceiling', () => {
    expect(backoffDelay(0, { baseMs: 1000, capMs: 60_000, random: () => 0.999 })).toBe(999);
    expect(backoffDelay(3, { baseMs: 1000, capMs: 60_000, random: () => 0.5 })).toBe(4000);
    expect(backoffDelay(40, { baseMs: 1000, capMs: 60_000, random: () => 0.999 })).toBe(59_940);
    expect(backoffDelay(5, { baseMs: 1000, capMs: 60_000, random: () => 0 })).toBe(0);
  });
  it('reads retry_after from a close reason', () => {
    expect(retryAfterMs('OUTPOST_E_UNAVAILABLE retry_after=15')).toBe(15_000);
    expect(retryAfterMs('OUTPOST_E_REPLACED')).toBeUndefined();
  });
});

describe('connection state machine', () => {
  it('honours "try again later", then authenticates and hands over the session', async () => {
    const peer = await fakeCollector(['busy', 'welcome']);
    const states: ConnectionState[] = [];
    const session = await new Promise<Session>((resolve) => {
      const m = new ConnectionManager({
        dialOptions: { server: peer.url, hello },
        events: { onSession: resolve, onState: (s) => states.push(s) },
        logger,
        backoff: { baseMs: 10, capMs: 50, random: () => 0 },
      });
      managers.push(m);
      m.start();
    });
    expect(session.welcome.lastSeq).toBe(7);
    expect(peer.times[1]! - peer.times[0]!).toBeGreaterThanOrEqual(1000); // waited retry_after, not the 10 ms backoff
    expect(states).toEqual(['connecting', 'backing_off', 'connecting', 'ready']);
    expect(peer.verified()).toBe(1);
    await peer.close();
  });

  it('backs off at the cap when the collector refuses the identity', async () => {
    const peer = await fakeCollector(['revoked']);
    const errors: string[] = [];
    const delays: number[] = [];
    const m = new ConnectionManager({
      dialOptions: { server: peer.url, hello },
      events: {
        onSession: () => undefined,
        onState: (s, d) => {
          if (s !== 'backing_off') return;
          errors.push(d.error?.code ?? '');
          delays.push(d.delayMs ?? 0);
        },
      },
      logger,
      backoff: { baseMs: 10, capMs: 60_000, random: () => 0 },
    });
    managers.push(m);
    m.start();
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]).toBe('OUTPOST_E_AGENT_REVOKED');
    expect(delays[0]).toBe(60_000);
    await m.stop();
    expect(m.state).toBe('stopped');
    await peer.close();
  });

  it('reconnects with growing backoff while the collector is down', async () => {
    const delays: number[] = [];
    const m = new ConnectionManager({
      dialOptions: { server: 'http://127.0.0.1:9', hello, timeoutMs: 500 },
      events: {
        onSession: () => undefined,
        onState: (s, d) => (s === 'backing_off' ? delays.push(d.delayMs ?? 0) : undefined),
      },
      logger,
      backoff: { baseMs: 5, capMs: 40, random: () => 0.999 },
    });
    managers.push(m);
    m.start();
    await expect.poll(() => delays.length, { timeout: 5000 }).toBeGreaterThanOrEqual(5);
    expect(delays.slice(0, 5)).toEqual([4, 9, 19, 39, 39]);
  });
});
