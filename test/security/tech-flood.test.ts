/**
 * Issue 17, the technician's side of the binary-frame flood: frames a technician socket sends (on a channel the
 * session does not use, or any frame at all from a read-only joiner) were dropped without being counted. Past
 * TECH_FRAMES_PER_SECOND the collector ends the session with OUTPOST_E_RATE_LIMITED within a bound.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeFrame, FrameKind } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTechSocket } from '../../collector/src/cli/tech-socket.js';
import { startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { type ShellAgent, startShellAgent } from '../support/shell.js';

let c: TestCollector;
let agent: ShellAgent;
const dir = tempDir('tech-flood');

beforeAll(async () => {
  c = await startTestCollector();
  agent = await startShellAgent(c, join(dir.path, 'agent'));
}, 60_000);
afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe('a technician flooding frames', () => {
  it('ends the session with OUTPOST_E_RATE_LIMITED within a bound, and the API keeps answering', async () => {
    const ws = openTechSocket(c.admin, `/api/v1/agents/${agent.agentId}/shell?cols=80&rows=24`);
    const texts: { type: string; code?: string }[] = [];
    ws.on('message', (data, isBinary) => {
      if (!isBinary) texts.push(JSON.parse(data.toString()) as { type: string; code?: string });
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // A channel the session does not use: each frame used to be decoded and dropped, uncounted.
    const frame = encodeFrame(FrameKind.Data, 9, Buffer.from('x'));
    const t0 = Date.now();
    let open = true;
    void closed.then(() => {
      open = false;
    });
    while (open && Date.now() - t0 < 6000) {
      for (let i = 0; i < 2000; i++) ws.send(frame);
      while (ws.bufferedAmount > 4 * 1024 * 1024 && open) await sleep(1);
      await new Promise((r) => setImmediate(r));
    }
    const code = await Promise.race([closed, sleep(1000).then(() => 'still open')]);
    expect(code).toBe(4483);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(texts.find((m) => m.type === 'session.error')?.code).toBe('OUTPOST_E_RATE_LIMITED');
    const res = await c.collector.api.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
  }, 30_000);
});
