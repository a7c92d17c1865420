/**
 * A newer collector sends a command this agent build does not know (an older agent in the field meeting a new kind of
 * job, say): the agent logs it and ignores it, keeping the session — closing would only bring the same command back
 * on every reconnect, for ever. A known command with a broken body still ends the session (protocol error).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { agentMessages } from '@outpost/shared';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { loadOrCreateKey } from '../identity/index.js';
import { AgentRuntime } from './agent.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const agentId = `ag_${'e'.repeat(24)}`;

/** A scripted collector: challenge, welcome, then `after(ws)`; records what the agent sends and how sockets close. */
async function scriptedCollector(after: (ws: WebSocket) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const received: string[] = [];
  const closes: { code: number; reason: string }[] = [];
  let connections = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.send(
      JSON.stringify({
        type: 'collector.challenge',
        nonce: 'nonce-1',
        protocolVersion: 1,
        minProtocolVersion: 1,
        serverTime: Date.now(),
      }),
    );
    ws.on('message', (data, binary) => {
      if (binary) return;
      const msg = agentMessages.decode(data.toString());
      received.push(msg.type);
      if (msg.type !== 'agent.hello') return;
      ws.send(
        JSON.stringify({
          type: 'collector.welcome',
          agentId,
          protocolVersion: 1,
          lastSeq: 0,
          heartbeatIntervalMs: 1000,
          messagesPerSecond: 100,
          messageBurst: 100,
          serverTime: Date.now(),
          enrolled: false,
          clientId: 'cl_x',
          siteId: 'si_x',
        }),
      );
      after(ws);
    });
    ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
  });
  cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
  return {
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    received,
    closes,
    connections: () => connections,
  };
}

async function startAgent(server: string) {
  const stateDir = mkdtempSync(join(tmpdir(), 'agent-unknown-'));
  cleanup.push(() => rmSync(stateDir, { recursive: true, force: true }));
  loadOrCreateKey(stateDir, true);
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const runtime = new AgentRuntime(
    { server, agentId, clientId: 'cl_x', siteId: 'si_x', stateDir, inventory: { enabled: false } },
    { logger: pino({ level: 'info' }, sink), backoff: { baseMs: 20, capMs: 50 } },
  );
  await runtime.start();
  cleanup.push(() => runtime.stop());
  return lines;
}

describe('a collector command this agent does not know', () => {
  it('is logged and ignored: the session stays up and the agent goes on heartbeating on it', async () => {
    const c = await scriptedCollector((ws) => ws.send(JSON.stringify({ type: 'job.frobnicate', id: 'jb_x' })));
    const lines = await startAgent(c.url);
    await expect.poll(() => lines.some((l) => l.type === 'job.frobnicate'), { timeout: 10_000 }).toBe(true);
    const warned = lines.find((l) => l.type === 'job.frobnicate')!;
    expect(warned).toMatchObject({ level: 40, msg: 'collector sent a message type this agent does not know; ignored' });
    // Heartbeats keep coming on the same connection: it was never closed.
    const before = c.received.filter((t) => t === 'agent.heartbeat').length;
    await expect
      .poll(() => c.received.filter((t) => t === 'agent.heartbeat').length, { timeout: 10_000 })
      .toBeGreaterThan(before);
    expect(c.closes).toEqual([]);
    expect(c.connections()).toBe(1);
  }, 30_000);

  it('a known command with a broken body still ends the session as a protocol error', async () => {
    const c = await scriptedCollector((ws) => ws.send(JSON.stringify({ type: 'job.cancel', id: 42 })));
    await startAgent(c.url);
    await expect.poll(() => c.closes[0], { timeout: 10_000 }).toEqual({ code: 4400, reason: 'OUTPOST_E_BAD_MESSAGE' });
  }, 30_000);
});
