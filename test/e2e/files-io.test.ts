/**
 * I/O failures during a transfer never end the agent (issue 17, security 2): a file deleted or truncated while it is
 * downloaded, and a write that fails mid-upload (a file size limit set on the running agent with prlimit: a short
 * write, then EFBIG), each end that transfer with a coded answer while the agent stays up and keeps serving.
 * Before the fix the agent hashed the file by name after the stream, and a deleted file (ENOENT) or a failed write (a
 * rejected promise left unhandled on close) took the whole agent process down.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { downloadFile, uploadFile } from '@outpost/collector';
import { decodeFrame, encodeCredit, FrameKind } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { processAlive, type ShellAgent, startShellAgent } from '../support/shell.js';

let c: TestCollector;
let agent: ShellAgent;
const dir = tempDir('files-io');
const root = join(dir.path, 'root');
const local = join(dir.path, 'local');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const data = randomBytes(4 * 1024 * 1024);

beforeAll(async () => {
  c = await startTestCollector();
  for (const d of [root, local]) mkdirSync(d, { recursive: true });
  writeFileSync(join(local, 'random.bin'), data);
  agent = await startShellAgent(c, join(dir.path, 'agent'), { fileRoots: [root] });
});
afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** The agent is up and still serves a plain download. */
async function stillServing(): Promise<void> {
  expect(processAlive(agent.proc.child.pid!), `agent exited:\n${agent.proc.stderr().slice(-2000)}`).toBe(true);
  writeFileSync(join(root, 'ping.txt'), 'pong');
  await downloadFile(c.admin, agent.agentId, join(root, 'ping.txt'), join(local, 'ping.txt'));
  expect(readFileSync(join(local, 'ping.txt'), 'utf8')).toBe('pong');
}

/**
 * Downloads `path` as a technician that withholds credit after the first window, runs `meanwhile` on the agent's
 * file, then grants credit to the end. Resolves with the bytes and the last text message (done or error).
 */
async function downloadWithPause(
  path: string,
  meanwhile: () => void,
): Promise<{ bytes: Buffer; last: { type: string; code?: string; sha256?: string; size?: number } }> {
  const url = new URL(
    `/api/v1/agents/${agent.agentId}/files?direction=download&path=${encodeURIComponent(path)}`,
    c.apiUrl.replace(/^http/, 'ws'),
  );
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${c.admin.token}` }, rejectUnauthorized: false });
  const chunks: Buffer[] = [];
  const texts: { type: string; code?: string; sha256?: string; size?: number }[] = [];
  let received = 0;
  let paused = true;
  let owed = 0;
  ws.on('message', (d, isBinary) => {
    if (!isBinary) {
      texts.push(JSON.parse(d.toString()) as { type: string });
      return;
    }
    const f = decodeFrame(d as Buffer);
    if (f.kind !== FrameKind.Data) return;
    chunks.push(Buffer.from(f.payload));
    received += f.payload.byteLength;
    if (paused) owed += f.payload.byteLength;
    else ws.send(encodeCredit(1, f.payload.byteLength));
  });
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  // The first window arrives, then nothing more without credit.
  for (let i = 0; i < 500 && received < 128 * 1024; i++) await new Promise((r) => setTimeout(r, 10));
  expect(received).toBeGreaterThan(0);
  expect(received).toBeLessThan(data.length);
  meanwhile();
  // The change must land while the transfer is paused mid-file; no event says the agent has looked at the file again.
  await new Promise((r) => setTimeout(r, 100));
  paused = false;
  ws.send(encodeCredit(1, owed));
  await closed;
  return { bytes: Buffer.concat(chunks), last: texts.at(-1)! };
}

describe('I/O failures during a transfer', () => {
  it('serves a file deleted during its download as it was when opened, and stays up', async () => {
    const target = join(root, 'deleted.bin');
    writeFileSync(target, data);
    const r = await downloadWithPause(target, () => unlinkSync(target));
    await stillServing();
    expect(r.last).toMatchObject({ type: 'transfer.done', size: data.length, sha256: sha(data) });
    expect(r.bytes.equals(data)).toBe(true);
  });

  it('refuses a download whose file is truncated meanwhile with OUTPOST_E_FILE_IO, and stays up', async () => {
    const target = join(root, 'truncated.bin');
    writeFileSync(target, data);
    const r = await downloadWithPause(target, () => truncateSync(target, 1000));
    await stillServing();
    expect(r.last).toMatchObject({ type: 'session.error', code: 'OUTPOST_E_FILE_IO' });
    expect(r.bytes.length).toBeLessThan(data.length);
  });

  it('refuses an upload whose writes fail (file size limit on the agent) with OUTPOST_E_FILE_IO, and stays up', async () => {
    const pid = String(agent.proc.child.pid);
    execFileSync('prlimit', ['--pid', pid, '--fsize=1048576:']);
    let refusal: unknown;
    try {
      await uploadFile(c.admin, agent.agentId, join(local, 'random.bin'), join(root, 'limited.bin')).catch(
        (err: unknown) => {
          refusal = err;
        },
      );
    } finally {
      execFileSync('prlimit', ['--pid', pid, '--fsize=unlimited:']);
    }
    await stillServing();
    expect(refusal).toMatchObject({ code: 'OUTPOST_E_FILE_IO', message: expect.stringMatching(/EFBIG/) });
    const r = await uploadFile(c.admin, agent.agentId, join(local, 'random.bin'), join(root, 'limited.bin'));
    expect(r.sha256).toBe(sha(data));
    expect(readFileSync(join(root, 'limited.bin')).equals(data)).toBe(true);
  });
});
