/**
 * A real AgentRuntime against a scripted collector on loopback whose welcome announces a stream cursor far past
 * anything the agent issued (a stolen or broken collector): the agent closes with OUTPOST_E_BAD_MESSAGE, backs off,
 * retries, and its outbox keeps every message (docs/0001-protocol.md, "Reliable stream").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { agentMessages } from '@outpost/shared';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { loadOrCreateKey } from '../identity/index.js';
import { AgentRuntime } from './agent.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('the welcome cursor', () => {
  it('a lastSeq past the last issued sequence number closes the session and trims nothing', async () => {
    const agentId = `ag_${'d'.repeat(24)}`;
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const closes: { code: number; reason: string; sequenced: number }[] = [];
    wss.on('connection', (ws) => {
      let sequenced = 0;
      ws.send(
        JSON.stringify({
          type: 'collector.challenge',
          nonce: 'nonce-1',
          protocolVersion: 1,
          minProtocolVersion: 1,
          serverTime: Date.now(),
        }),
      );
      ws.on('message', (data) => {
        const msg = agentMessages.decode(data.toString());
        if (msg.type === 'agent.hello')
          ws.send(
            JSON.stringify({
              type: 'collector.welcome',
              agentId,
              protocolVersion: 1,
              lastSeq: 1_000_000_000_000,
              heartbeatIntervalMs: 1000,
              messagesPerSecond: 100,
              messageBurst: 100,
              serverTime: Date.now(),
              enrolled: false,
              clientId: 'cl_x',
              siteId: 'si_x',
            }),
          );
        else if ('seq' in msg) sequenced++;
      });
      ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString(), sequenced }));
    });
    cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));

    const stateDir = mkdtempSync(join(tmpdir(), 'agent-welcome-'));
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
      {
        server: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
        agentId,
        clientId: 'cl_x',
        siteId: 'si_x',
        stateDir,
        inventory: { enabled: false },
      },
      { logger: pino({ level: 'info' }, sink), backoff: { baseMs: 20, capMs: 50 } },
    );
    await runtime.start();
    cleanup.push(() => runtime.stop());
    const issued = runtime.outbox.stats().nextSeq - 1;
    expect(issued).toBeGreaterThanOrEqual(1); // agent.started at least

    // It backs off and tries again, and every time refuses the same way.
    const deadline = Date.now() + 10_000;
    while (closes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(closes.slice(0, 2)).toEqual([
      { code: 4400, reason: 'OUTPOST_E_BAD_MESSAGE', sequenced: 0 },
      { code: 4400, reason: 'OUTPOST_E_BAD_MESSAGE', sequenced: 0 },
    ]);
    const s = runtime.outbox.stats();
    expect(s.acked).toBe(0);
    expect(s.pending).toBeGreaterThanOrEqual(issued);
    expect(runtime.outbox.pendingAfter(0, 1)[0]).toMatchObject({ seq: 1, type: 'stream.event', kind: 'agent.started' });
    const logged = lines.find((l) => l.collectorLastSeq === 1_000_000_000_000);
    expect(logged).toMatchObject({ level: 50, err: { code: 'OUTPOST_E_BAD_MESSAGE' } });
    expect(lines.some((l) => l.to === 'backing_off')).toBe(true);
  }, 30_000);
});
