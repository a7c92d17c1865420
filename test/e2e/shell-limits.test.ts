/**
 * Session limits and the recording-failure policy end to end: idle timeout and maximum duration enforced by the
 * collector on a fake clock (the agent then kills the session's processes; a stalled file transfer is ended the same
 * way), and a recordings directory that
 * cannot be written either refusing the session (`refuse`, nothing spawned) or letting it run flagged (`allow`).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall, ShellClient } from '@outpost/collector';
import { CHANNEL_WINDOW_BYTES, decodeFrame, encodeFrame, FrameKind } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { auditEvents, OutputBuffer, processAlive, type ShellAgent, startShellAgent } from '../support/shell.js';

const IDLE = 60_000;
const KEEPALIVE = 300;
const MAX = 120_000;
/** The collector's clock: real time plus a skew the test advances. */
let skew = 0;
const clock = { now: () => Date.now() + skew };

let strict: TestCollector;
let lenient: TestCollector;
let strictAgent: ShellAgent;
let lenientAgent: ShellAgent;
/** A collector whose keep-alive rounds are short (its own, so no other test depends on them). */
let watchful: TestCollector;
let watchfulAgent: ShellAgent;
const dir = tempDir('shell-limits');
const files = join(dir.path, 'files');

beforeAll(async () => {
  mkdirSync(files);
  writeFileSync(join(files, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 7));
  [strict, lenient] = await Promise.all([
    startTestCollector({ sessions: { idleTimeoutMs: IDLE, maxDurationMs: MAX, recordingFailure: 'refuse' } } as never, {
      clock,
    }),
    startTestCollector({ sessions: { recordingFailure: 'allow' } } as never),
  ]);
  watchful = await startTestCollector({ sessions: { keepAliveMs: KEEPALIVE } } as never);
  [strictAgent, lenientAgent, watchfulAgent] = await Promise.all([
    startShellAgent(strict, join(dir.path, 'strict'), { fileRoots: [files] }),
    startShellAgent(lenient, join(dir.path, 'lenient')),
    startShellAgent(watchful, join(dir.path, 'watchful')),
  ]);
});
afterAll(async () => {
  await Promise.all([strictAgent, lenientAgent, watchfulAgent].map((a) => a?.proc.kill('SIGTERM')));
  await Promise.all([strict, lenient, watchful].map((c) => c?.[Symbol.asyncDispose]()));
  dir[Symbol.dispose]();
});

const open = async (c: TestCollector, agentId: string) => {
  const s = await ShellClient.open(c.admin, agentId);
  const out = new OutputBuffer();
  s.onData(out.push);
  return { s, out };
};

async function row(admin: ApiTarget, id: string) {
  for (let i = 0; i < 200; i++) {
    const r = await apiCall<{ endedAt: number | null; closeReason: string | null; recordingStatus: string }>(
      admin,
      'GET',
      `/api/v1/sessions/${id}`,
    );
    if (r.endedAt !== null && r.recordingStatus !== 'recording') return r;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`session ${id} did not finish`);
}

/** Makes `<dataDir>/recordings` impossible to create (a plain file in its place; root ignores permission bits). */
function blockRecordings(c: TestCollector): void {
  const rec = join(c.dataDir, 'recordings');
  try {
    renameSync(rec, `${rec}.old`);
  } catch {
    // No recording yet.
  }
  writeFileSync(rec, 'not a directory');
}

describe('session limits (fake clock)', () => {
  it('ends an idle session after sessions.idleTimeoutMs and an active one at sessions.maxDurationMs', async () => {
    const active = await open(strict, strictAgent.agentId);
    const idle = await open(strict, strictAgent.agentId);
    idle.s.write('sleep 4321 & echo BG=$!\n');
    const bg = Number((await idle.out.waitFor(/BG=(\d+)/))[1]);
    let n = 0;
    const keepBusy = async () => {
      n++;
      active.s.write(`echo tick-$((${n}*1))\n`);
      await active.out.waitFor(new RegExp(`tick-${n}\\r?\\n`));
    };
    const sessions = strict.collector.sessions;

    skew = IDLE - 10_000;
    await keepBusy();
    sessions.sweep();
    expect(sessions.live.has(idle.s.sessionId)).toBe(true);
    expect(sessions.live.has(active.s.sessionId)).toBe(true);

    skew = 2 * IDLE - 20_000; // the idle session has been silent for longer than IDLE; the active one has not
    await keepBusy();
    sessions.sweep();
    const idleEnd = await idle.s.ended;
    expect(idleEnd).toMatchObject({ exitCode: null, code: 'OUTPOST_E_SESSION_ENDED' });
    expect(idleEnd.message).toMatch(/idle timeout/);
    expect(sessions.live.has(active.s.sessionId)).toBe(true);
    expect((await row(strict.admin, idle.s.sessionId)).closeReason).toBe('idle timeout');

    skew = MAX + 1000; // still active recently, but older than MAX
    sessions.sweep();
    const activeEnd = await active.s.ended;
    expect(activeEnd.message).toMatch(/maximum duration reached/);
    expect((await row(strict.admin, active.s.sessionId)).closeReason).toBe('maximum duration reached');

    // The agent killed what the idle session left running.
    const until = Date.now() + 5000;
    while (processAlive(bg) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(processAlive(bg)).toBe(false);
    const closes = (await auditEvents(strict.admin)).filter((e) => e.type === 'shell.close');
    expect(closes.map((e) => e.details?.reason)).toEqual(
      expect.arrayContaining(['idle timeout', 'maximum duration reached']),
    );
    skew = 0;
  });
});

describe('technician keep-alive', () => {
  it('ends the session of a technician whose network vanished (silent, no pongs), and its processes with it', async () => {
    // A client that answers pings until its shell is set up, then falls silent: what the collector sees of a laptop
    // closed mid-session (no FIN either).
    const url = new URL(
      `/api/v1/agents/${watchfulAgent.agentId}/shell?cols=80&rows=24`,
      watchful.apiUrl.replace(/^http/, 'ws'),
    );
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${watchful.admin.token}` },
      rejectUnauthorized: false,
      autoPong: false,
    });
    let answering = true;
    // The last sign of life this technician gave (the collector counts the silence from it, not from `answering`).
    let lastSign = performance.now();
    ws.on('ping', (d) => {
      if (!answering) return;
      lastSign = performance.now();
      ws.pong(d);
    });
    let id = '';
    let text = '';
    ws.on('message', (d, isBinary) => {
      if (isBinary) text += Buffer.from(decodeFrame(d as Buffer).payload).toString();
      else {
        const m = JSON.parse(d.toString()) as { type: string; sessionId?: string };
        if (m.type === 'session.ready') id = m.sessionId!;
      }
    });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    for (let i = 0; i < 500 && !id; i++) await new Promise((r) => setTimeout(r, 10));
    lastSign = performance.now();
    ws.send(encodeFrame(FrameKind.Data, 1, Buffer.from('sleep 4322 & echo BG=$!\n')));
    for (let i = 0; i < 500 && !/BG=\d+/.test(text); i++) await new Promise((r) => setTimeout(r, 10));
    const bg = Number(/BG=(\d+)/.exec(text)?.[1]);
    expect(bg).toBeGreaterThan(0);
    answering = false;
    expect(await closed).toBe(1006);
    // More than two rounds of silence, found at the next round (the collector runs in this process: same clock).
    expect(performance.now() - lastSign).toBeGreaterThan(2 * KEEPALIVE);
    expect(performance.now() - lastSign).toBeLessThan(20 * KEEPALIVE);
    expect((await row(watchful.admin, id)).closeReason).toMatch(/^technician unreachable/);
    const until = Date.now() + 5000;
    while (processAlive(bg) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(processAlive(bg)).toBe(false);
  });

  it('keeps a technician that answers pings, round after round', async () => {
    const { s, out } = await open(watchful, watchfulAgent.agentId);
    // The duration is what is checked: eight keep-alive rounds pass with the technician answering.
    await new Promise((r) => setTimeout(r, 8 * KEEPALIVE));
    s.write('echo still-$((1+1))-here\n');
    await out.waitFor(/still-2-here/);
    s.close();
    expect((await s.ended).message ?? '').not.toMatch(/unreachable/);
  });
});

describe('transfer limits (fake clock)', () => {
  it('ends a download whose technician stopped granting credit once it has been idle for sessions.idleTimeoutMs', async () => {
    const url = new URL(
      `/api/v1/agents/${strictAgent.agentId}/files?direction=download&path=${encodeURIComponent(join(files, 'big.bin'))}`,
      strict.apiUrl.replace(/^http/, 'ws'),
    );
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${strict.admin.token}` },
      rejectUnauthorized: false,
    });
    let received = 0;
    let id = '';
    const errors: string[] = [];
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('message', (d, isBinary) => {
      if (isBinary) received += (d as Buffer).length - 6;
      else {
        const m = JSON.parse(d.toString()) as { type: string; sessionId?: string; code?: string };
        if (m.type === 'transfer.ready') id = m.sessionId!;
        if (m.type === 'session.error') errors.push(m.code!);
      }
    });
    // No Credit frame is ever sent: the agent stops after its window.
    const until = Date.now() + 5000;
    while (received < CHANNEL_WINDOW_BYTES && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(received).toBe(CHANNEL_WINDOW_BYTES);
    const sessions = strict.collector.sessions;
    sessions.sweep();
    expect(sessions.transfers.has(id)).toBe(true);
    skew = IDLE + 1000;
    sessions.sweep();
    expect(await closed).toBe(4483);
    expect(errors).toEqual(['OUTPOST_E_SESSION_ENDED']);
    expect(sessions.transfers.has(id)).toBe(false);
    skew = 0;
    let reason: string | null = null;
    for (let i = 0; i < 100 && reason === null; i++) {
      reason = (await apiCall<{ closeReason: string | null }>(strict.admin, 'GET', `/api/v1/sessions/${id}`))
        .closeReason;
      if (reason === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(reason).toBe('idle timeout');
  });
});

describe('recording failure policy', () => {
  it('refuse: a session whose recording cannot be written is not opened, is audited, and spawns nothing', async () => {
    blockRecordings(strict);
    const log = () => strictAgent.proc.stdout() + strictAgent.proc.stderr();
    const before = (log().match(/shell session opened/g) ?? []).length;
    await expect(ShellClient.open(strict.admin, strictAgent.agentId)).rejects.toMatchObject({
      code: 'OUTPOST_E_RECORDING_FAILED',
    });
    const refused = (await auditEvents(strict.admin)).find(
      (e) => e.type === 'shell.open' && e.code === 'OUTPOST_E_RECORDING_FAILED',
    );
    expect(refused).toMatchObject({ result: 'failure' });
    // An absence: the agent must never open the refused session.
    await new Promise((r) => setTimeout(r, 200));
    expect((log().match(/shell session opened/g) ?? []).length).toBe(before);
    expect(strict.collector.sessions.live.size).toBe(0);
  });

  it('allow: the session runs and its row is flagged recordingStatus failed, with no recording to download', async () => {
    blockRecordings(lenient);
    const { s, out } = await open(lenient, lenientAgent.agentId);
    s.write('echo still-$((2+3))-works\n');
    await out.waitFor(/still-5-works/);
    s.write('exit 0\n');
    expect((await s.ended).exitCode).toBe(0);
    expect(await row(lenient.admin, s.sessionId)).toMatchObject({ recordingStatus: 'failed' });
    await expect(apiCall(lenient.admin, 'GET', `/api/v1/sessions/${s.sessionId}/recording`)).rejects.toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
    });
  });
});
