/**
 * Issue 17: binary frames bypassed the agent's rate limit. 7.4 million frames in 8 s to a channel nobody opened kept
 * the socket open and slowed the API tenfold. Against a real `outpost serve` process: a raw agent floods binary
 * frames to an unknown channel; the collector closes it with 4429 OUTPOST_E_RATE_LIMITED within a second or two,
 * logs that once, and keeps answering the API.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { apiCall, ShellClient } from '@outpost/collector';
import { encodeFrame, FrameKind } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/collector.js';
import { bootstrap, freePort, type ServeInfo, startCollectorProcess } from '../support/process-collector.js';
import { newKeys, RawAgent } from '../support/raw-agent.js';

const dir = tempDir('flood');
let serve: ServeInfo;
let admin: Awaited<ReturnType<typeof bootstrap>>['admin'];
let token: string;

beforeAll(async () => {
  serve = await startCollectorProcess(dir.path, await freePort());
  ({ admin, token } = await bootstrap(serve, 5));
}, 60_000);
afterAll(async () => {
  await serve?.proc.kill();
  dir[Symbol.dispose]();
});

/** Sends `frame` as fast as the socket takes it, in bursts, until the socket closes or `ms` pass; returns the count. */
async function flood(a: RawAgent, frame: Buffer, ms: number): Promise<number> {
  let sent = 0;
  const until = Date.now() + ms;
  while (a.ws.readyState === a.ws.OPEN && Date.now() < until) {
    for (let i = 0; i < 2000; i++) a.ws.send(frame);
    sent += 2000;
    // Let the socket drain and the close arrive; keep a few megabytes in flight, as a real flood would.
    while (a.ws.bufferedAmount > 4 * 1024 * 1024 && a.ws.readyState === a.ws.OPEN) await sleep(1);
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

describe('an agent flooding binary frames', () => {
  it('is closed with OUTPOST_E_RATE_LIMITED within a bound, logged once, while the API keeps answering', async () => {
    const a = await RawAgent.connect(serve.apiUrl);
    await a.enroll(token, newKeys());
    await a.next('collector.welcome');
    const t0 = Date.now();
    const sending = flood(a, encodeFrame(FrameKind.Data, 77, Buffer.from('x')), 8000);
    // The API answers while the flood runs.
    const api0 = Date.now();
    await apiCall(admin, 'GET', '/api/v1/agents');
    const apiMs = Date.now() - api0;
    const closed = await Promise.race([a.closed, sleep(5000).then(() => 'still open after 5 s')]);
    const closedAfter = Date.now() - t0;
    const sent = await sending;
    expect(closed).toEqual({ code: 4429, reason: 'OUTPOST_E_RATE_LIMITED' });
    expect(closedAfter).toBeLessThan(3000);
    expect(apiMs).toBeLessThan(2000);
    // Logged once for the connection, not once per frame.
    await sleep(200);
    const lines = (serve.proc.stdout() + serve.proc.stderr()).split('\n').filter((l) => l.includes('"agentId"'));
    const closing = lines.filter((l) => l.includes('closing agent socket') && l.includes('OUTPOST_E_RATE_LIMITED'));
    expect(closing.length, `${sent} frames sent`).toBe(1);
    const after = Date.now();
    await apiCall(admin, 'GET', '/api/v1/agents');
    expect(Date.now() - after).toBeLessThan(1000);
  }, 30_000);

  it('closes an agent flooding empty frames on a channel it did open, and the session with it', async () => {
    const a = await RawAgent.connect(serve.apiUrl);
    await a.enroll(token, newKeys());
    const { agentId } = await a.next('collector.welcome');
    const opening = ShellClient.open(admin, agentId);
    const open = await a.next('shell.open');
    a.sendJson({ type: 'shell.opened', channel: open.channel, sessionId: open.sessionId, pid: 4242, user: 'nobody' });
    const tech = await opening;
    // Empty Data frames cost no credit, and each used to be relayed to the technician and the recording.
    const t0 = Date.now();
    const sending = flood(a, encodeFrame(FrameKind.Data, open.channel, Buffer.alloc(0)), 8000);
    const closed = await Promise.race([a.closed, sleep(5000).then(() => 'still open after 5 s')]);
    await sending;
    expect(closed).toEqual({ code: 4429, reason: 'OUTPOST_E_RATE_LIMITED' });
    // Bounded, not fast: 8,000 frames through this process and the collector took 3.2 s at load 12 on two cores.
    expect(Date.now() - t0).toBeLessThan(4500);
    // The technician's session ends with the agent's connection.
    await Promise.race([tech.ended, sleep(5000).then(() => Promise.reject(new Error('session still open')))]);
  }, 30_000);

  it('keeps a connection that sends a few frames for a channel that just closed', async () => {
    const a = await RawAgent.connect(serve.apiUrl);
    await a.enroll(token, newKeys());
    await a.next('collector.welcome');
    // Output still in flight when a session ends: a few hundred frames, not a flood.
    for (let i = 0; i < 300; i++) a.ws.send(encodeFrame(FrameKind.Data, 5, Buffer.alloc(1024)));
    a.sendJson({ type: 'agent.heartbeat', time: Date.now(), uptimeSec: 1, outboxPending: 0 });
    // An absence: the connection must not be cut for this much late output.
    await sleep(500);
    expect(a.ws.readyState).toBe(a.ws.OPEN);
    a.close();
  });
});
