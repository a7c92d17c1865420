/**
 * A peer's broken WebSocket frame on a real collector (startServer on a temp dir, a free loopback port): the socket
 * closes with the protocol's code and the collector logs a refusal, not an internal error.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { checkSettings } from '../config.js';
import { type RunningCollector, startServer } from '../server.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-ws-errors-'));
const lines: { level: number; msg: string; code?: string }[] = [];
let running: RunningCollector;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const settings = checkSettings({
    dataDir: dir,
    api: { host: '127.0.0.1', port: 0 },
    tls: { enabled: false },
    limits: { agentMaxPayloadBytes: 1024 },
  });
  running = await startServer(settings, { logger: pino({ level: 'info' }, sink) });
});
afterAll(async () => {
  await running?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function closeAfter(send: (ws: WebSocket) => void): Promise<number> {
  const ws = new WebSocket(`${running.agentUrl}/v1/agent`, { perMessageDeflate: false });
  ws.on('error', () => undefined); // the collector drops the socket; the client may see a reset
  await once(ws, 'open');
  const closed = once(ws, 'close') as Promise<[number]>;
  send(ws);
  return (await closed)[0];
}

describe('broken frames from a WebSocket peer', () => {
  // Found by test/security/protocol-fuzz: @fastify/websocket's default handler logged a peer's oversized frame as
  // a collector error (level 50, with a stack), so a hostile agent could fill the error log at will.
  it.each([
    ['a frame over the size limit', 1009, (ws: WebSocket) => ws.send('x'.repeat(4096))],
    [
      'invalid UTF-8 in a text frame',
      1007,
      (ws: WebSocket) => ws.send(Buffer.from([0x7b, 0xff, 0xfe]), { binary: false }),
    ],
  ])('closes on %s with %i and logs a refusal, not an error', async (_name, code, send) => {
    const before = lines.length;
    expect(await closeAfter(send)).toBe(code);
    await expect
      .poll(() => lines.slice(before).some((l) => l.level === 40 && l.msg === 'websocket peer sent a broken frame'))
      .toBe(true);
    const logged = lines.slice(before);
    expect(logged.filter((l) => l.level >= 50)).toEqual([]);
    expect(logged.some((l) => l.level === 40 && l.msg === 'websocket peer sent a broken frame')).toBe(true);
  });

  it('still serves the API afterwards', async () => {
    const res = await fetch(`${running.apiUrl}/healthz`);
    expect(res.status).toBe(200);
  });
});
