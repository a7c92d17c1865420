import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeFrame, encodeCredit, encodeFrame, FrameKind } from '@outpost/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { AgentConnection } from '../agents/registry.js';
import { type EndInfo, LiveShell, NO_ECHO_MARKER, RESIZE_INTERVAL_MS } from './live.js';
import { CastRecorder } from './recorder.js';
import { closeReason, TECH_CHANNEL } from './wire.js';

/** Real sockets on loopback: `server` is the collector's end, `client` the peer's. */
async function socketPair(): Promise<{ server: WebSocket; client: WebSocket; close(): void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await once(client, 'open');
  const [server] = await accepted;
  return {
    server,
    client,
    close: () => {
      client.terminate();
      wss.close();
    },
  };
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const p of open.splice(0)) p.close();
});

/** The agent ag_1 of client cl_1 connected on `socket` (the collector's side of a real socket pair). */
const agentOn = (socket: WebSocket) =>
  new AgentConnection({
    agentId: 'ag_1',
    clientId: 'cl_1',
    siteId: 'si_1',
    socket,
    remoteIp: '127.0.0.1',
    connectedAt: 0,
  });

/** A session on channel 7 between real sockets: `tech.client` is the technician, `agent.client` the agent. */
async function liveShell(onEnd: (s: LiveShell, info: EndInfo) => void = () => {}) {
  const tech = await socketPair();
  const agent = await socketPair();
  open.push(tech, agent);
  const conn = agentOn(agent.server);
  const s = new LiveShell({
    id: 'ss_1',
    agent: conn,
    channel: 7,
    writer: tech.server,
    recorder: undefined,
    startedAt: 0,
    clock: { now: () => 0 },
    size: { cols: 80, rows: 24 },
    onEnd,
  });
  return { s, tech, agent };
}

/** Waits (up to 5 s) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('closeReason', () => {
  it.each([
    ['ASCII', 'x'.repeat(300)],
    ['two-byte characters', 'é'.repeat(200)],
    ['astral characters', '😀'.repeat(100)],
    ['lone surrogates', '\ud800'.repeat(100)],
    ['a pair cut at the limit', `${'a'.repeat(121)}😀😀`],
  ])('cuts %s to at most 123 UTF-8 bytes', (_name, text) => {
    const out = closeReason(text);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(123);
    expect(Buffer.byteLength(out)).toBeGreaterThan(100);
    expect(text.startsWith(out)).toBe(true);
  });

  it('never ends on half a surrogate pair', () => {
    expect(closeReason(`${'a'.repeat(121)}😀😀`)).toBe('a'.repeat(121));
  });

  it('keeps a short reason whole', () => {
    expect(closeReason('OUTPOST_E_SESSION_ENDED idle timeout')).toBe('OUTPOST_E_SESSION_ENDED idle timeout');
  });
});

describe('LiveShell.end', () => {
  // Found by test/security/protocol-fuzz: an agent's shell.refused with a message of 123 characters of `é` made
  // ws.close throw (246 bytes), so the technician socket stayed open, the session row was never finished, and the
  // throw closed the agent's own socket with OUTPOST_E_INTERNAL.
  it("closes the technician socket with a coded reason when the agent's message is long non-ASCII text", async () => {
    const ended: EndInfo[] = [];
    const { s, tech, agent } = await liveShell((_, i) => ended.push(i));
    const closed = once(tech.client, 'close') as Promise<[number, Buffer]>;
    const toAgent = once(agent.client, 'message') as Promise<[Buffer]>;
    expect(() => s.end({ reason: 'é'.repeat(500), exitCode: null, code: 'OUTPOST_E_TICKET_INVALID' })).not.toThrow();
    const [code, reason] = await closed;
    expect(code).toBe(4483);
    expect(reason.toString()).toMatch(/^OUTPOST_E_SESSION_ENDED é+$/);
    expect(ended).toHaveLength(1);
    expect(JSON.parse((await toAgent)[0].toString())).toMatchObject({ type: 'shell.close', channel: 7 });
  });
});

describe('LiveShell.resize', () => {
  it('paces a flood of sizes from the technician: a few reach the agent, the last one is the final size', async () => {
    const { s, agent } = await liveShell();
    const sizes: { cols: number; rows: number }[] = [];
    agent.client.on('message', (d: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const m = JSON.parse(d.toString()) as { type: string; cols: number; rows: number };
      if (m.type === 'shell.resize') sizes.push({ cols: m.cols, rows: m.rows });
    });
    const started = performance.now();
    for (let i = 1; i <= 5000; i++) s.resize(80 + (i % 100), 24 + (i % 50));
    s.resize(132, 43);
    const elapsed = performance.now() - started;
    await until(() => sizes.at(-1)?.cols === 132);
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    expect(sizes.length).toBeLessThanOrEqual(2 + Math.ceil(elapsed / RESIZE_INTERVAL_MS));
    expect(sizes.at(-1)).toEqual({ cols: 132, rows: 43 });
    expect({ cols: s.cols, rows: s.rows }).toEqual({ cols: 132, rows: 43 });
  });

  it('forwards no empty input frame to the agent', async () => {
    const { s, agent } = await liveShell();
    const frames: Buffer[] = [];
    agent.client.on('message', (d: Buffer, isBinary: boolean) => {
      if (isBinary) frames.push(d);
    });
    const empty = encodeFrame(FrameKind.Data, TECH_CHANNEL);
    for (let i = 0; i < 100; i++) s.fromTech(decodeFrame(empty), Buffer.from(empty));
    const key = encodeFrame(FrameKind.Data, TECH_CHANNEL, Buffer.from('x'));
    s.fromTech(decodeFrame(key), Buffer.from(key));
    // Frames arrive in order: had an empty one been forwarded, it would be there before the keystroke.
    await until(() => frames.length > 0);
    await new Promise((r) => setImmediate(r));
    expect(frames).toHaveLength(1);
    expect(decodeFrame(frames[0]!)).toMatchObject({ kind: FrameKind.Data, channel: 7 });
    expect(Buffer.from(decodeFrame(frames[0]!).payload).toString()).toBe('x');
    expect(s.bytesIn).toBe(1);
  });
});

describe('LiveShell input after a resize', () => {
  it('sends a size still waiting for its turn ahead of the input typed after it', async () => {
    const { s, agent } = await liveShell();
    const seen: string[] = [];
    agent.client.on('message', (d: Buffer, isBinary: boolean) => {
      if (isBinary) seen.push(`data:${Buffer.from(decodeFrame(d).payload).toString()}`);
      else {
        const m = JSON.parse(d.toString()) as { type: string; cols: number; rows: number };
        if (m.type === 'shell.resize') seen.push(`size:${m.cols}x${m.rows}`);
      }
    });
    s.resize(100, 30);
    for (let i = 0; i < 10; i++) s.resize(110 + i, 40);
    const key = encodeFrame(FrameKind.Data, TECH_CHANNEL, Buffer.from('k'));
    s.fromTech(decodeFrame(key), Buffer.from(key));
    await until(() => seen.includes('data:k'));
    expect(seen).toEqual(['size:100x30', 'size:119x40', 'data:k']);
  });
});

describe('input recording', () => {
  it('records input once the agent credits it, hides runs the agent reports as typed without echo, and unsettled input at the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-live-'));
    try {
      const tech = await socketPair();
      const agent = await socketPair();
      open.push(tech, agent);
      const conn = agentOn(agent.server);
      const file = join(dir, 'r.cast.gz');
      const rec = CastRecorder.open(file, { cols: 80, rows: 24, startedAt: 0, title: 't' }, () => undefined);
      let t = 0;
      const s = new LiveShell({
        id: 'ss_1',
        agent: conn,
        channel: 7,
        writer: tech.server,
        recorder: rec,
        startedAt: 0,
        clock: { now: () => t },
        size: { cols: 80, rows: 24 },
        onEnd: () => {},
      });
      const type = (text: string) => {
        t += 100;
        const f = encodeFrame(FrameKind.Data, TECH_CHANNEL, Buffer.from(text));
        s.fromTech(decodeFrame(f), f);
      };
      const credit = (n: number) => {
        const f = encodeCredit(7, n);
        s.fromAgent(decodeFrame(f), f);
      };
      type('sudo true\r'); // 0..10
      type('s3'); // 10..12, at the password prompt
      type('cr'); // 12..14
      type('et\r'); // 14..17
      type('ls\r'); // 17..20
      s.noEcho(10, 17);
      s.noEcho(30, 40); // past the input sent: ignored
      s.noEcho(5, 8); // out of order: ignored
      credit(20);
      type('pw'); // 20..22, never credited
      s.end({ reason: 'test', exitCode: 0 });
      await rec.close();
      const input = gunzipSync(readFileSync(file))
        .toString()
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => JSON.parse(l) as [number, string, string])
        .filter((e) => e[1] === 'i')
        .map((e) => e[2]);
      expect(input).toEqual(['sudo true\r', NO_ECHO_MARKER, 'ls\r', NO_ECHO_MARKER]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
