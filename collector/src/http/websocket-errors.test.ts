/**
 * A peer's broken WebSocket frame on a real collector (startServer on a temp dir, a free loopback port): the socket
 * closes with the protocol's code and the collector logs a refusal, not an internal error.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
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

  it('lets a peer that keeps sending read the close code, hangs up cleanly, and drops it within the grace', async () => {
    // A raw TCP peer that announces a frame over the limit and keeps streaming its payload after the collector's
    // close: the close frame must reach it whole and be followed by a clean hang-up (FIN), and a peer that never
    // hangs up its own side must still be dropped.
    const url = new URL(running.agentUrl);
    const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
    // Not events.once: it rejects on the 'error' that writing after the collector dropped us raises (EPIPE).
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(
      `GET /v1/agent HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let received = Buffer.alloc(0);
    let ended = false;
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
    });
    socket.on('end', () => {
      ended = true;
    });
    await expect.poll(() => received.includes('\r\n\r\n')).toBe(true);
    // FIN + text, masked, 64-bit length 1 MiB (the limit here is 1 KiB), then the payload in slices until dropped.
    socket.write(Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4]));
    const started = Date.now();
    const streaming = setInterval(() => {
      if (!socket.destroyed) socket.write(Buffer.alloc(4096, 0x61));
    }, 10);
    try {
      await closed;
    } finally {
      clearInterval(streaming);
    }
    // The last thing it read is a whole close frame with code 1009 (after the collector's challenge).
    expect([...received.subarray(-4)]).toEqual([0x88, 0x02, 0x03, 0xf1]);
    expect(ended, 'the collector hung up with a FIN before dropping the socket').toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('still serves the API afterwards', async () => {
    const res = await fetch(`${running.apiUrl}/healthz`);
    expect(res.status).toBe(200);
  });
});
