/**
 * File transfer end to end: `outpost cp` (a real CLI process) uploads and downloads a multi-megabyte random file
 * through a real collector to a real agent with equal SHA-256 on both ends; interrupted copies resume; refused
 * paths change nothing; a technician without the permission gets 403 and an audit row; size limits hold.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { apiCall, downloadFile, uploadFile } from '@outpost/collector';
import { encodeFrame, FrameKind } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { outpostBin, spawnNode, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { auditEvents, type ShellAgent, startShellAgent, technician } from '../support/shell.js';

const MAX = 16 * 1024 * 1024;
let c: TestCollector;
let agent: ShellAgent;
const dir = tempDir('files-e2e');
const root = join(dir.path, 'root');
const outside = join(dir.path, 'outside');
const local = join(dir.path, 'local');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const data = randomBytes(6 * 1024 * 1024 + 12_345);

beforeAll(async () => {
  c = await startTestCollector({ sessions: { fileMaxBytes: MAX } } as never);
  for (const d of [join(root, 'sub'), outside, local]) mkdirSync(d, { recursive: true });
  writeFileSync(join(outside, 'canary.txt'), 'canary');
  symlinkSync(outside, join(root, 'link-out'));
  writeFileSync(join(local, 'random.bin'), data);
  agent = await startShellAgent(c, join(dir.path, 'agent'), { fileRoots: [root] });
});
afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** Runs the real CLI: `outpost --json cp …`. */
async function cp(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnNode(outpostBin, [
    '--server',
    c.apiUrl,
    '--token',
    c.admin.token!,
    ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
    '--json',
    'cp',
    ...args,
  ]);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

describe('outpost cp', () => {
  it('uploads and downloads a multi-megabyte random file with the same SHA-256 on both ends', async () => {
    const up = await cp(join(local, 'random.bin'), `${agent.agentId}:${root}/sub/random.bin`);
    expect(up.code, up.err).toBe(0);
    const upResult = JSON.parse(up.out) as { sha256: string; size: number; bytes: number; sessionId: string };
    expect(upResult).toMatchObject({ sha256: sha(data), size: data.length, bytes: data.length });
    expect(sha(readFileSync(join(root, 'sub', 'random.bin')))).toBe(sha(data));

    const down = await cp(`${agent.agentId}:${root}/sub/random.bin`, join(local, 'back.bin'));
    expect(down.code, down.err).toBe(0);
    const downResult = JSON.parse(down.out) as { sha256: string; sessionId: string };
    expect(downResult.sha256).toBe(sha(data));
    expect(readFileSync(join(local, 'back.bin')).equals(data)).toBe(true);

    const rows = await apiCall<{ sessions: { id: string; kind: string; path: string; sha256: string }[] }>(
      c.admin,
      'GET',
      `/api/v1/sessions?agentId=${agent.agentId}`,
    );
    expect(rows.sessions.find((s) => s.id === upResult.sessionId)).toMatchObject({
      kind: 'upload',
      path: `${root}/sub/random.bin`,
      sha256: sha(data),
    });
    expect(rows.sessions.find((s) => s.id === downResult.sessionId)).toMatchObject({ kind: 'download' });
    const audit = await auditEvents(c.admin);
    expect(audit.find((e) => e.sessionId === upResult.sessionId)).toMatchObject({
      type: 'file.upload',
      result: 'success',
    });
    expect(audit.find((e) => e.sessionId === downResult.sessionId)).toMatchObject({
      type: 'file.download',
      result: 'success',
    });
  });

  it('resumes an interrupted download and an interrupted upload', async () => {
    const remote = join(root, 'resume.bin');
    writeFileSync(remote, data);
    const partial = join(local, 'partial.bin');
    writeFileSync(partial, data.subarray(0, 1_500_000));
    const down = await downloadFile(c.admin, agent.agentId, remote, partial, { resume: true });
    expect(down).toMatchObject({ offset: 1_500_000, bytes: data.length - 1_500_000, sha256: sha(data) });
    expect(readFileSync(partial).equals(data)).toBe(true);

    truncateSync(remote, 2_000_000);
    const up = await uploadFile(c.admin, agent.agentId, join(local, 'random.bin'), remote, { resume: true });
    expect(up).toMatchObject({ offset: 2_000_000, bytes: data.length - 2_000_000, sha256: sha(data) });
    expect(readFileSync(remote).equals(data)).toBe(true);
  });

  it('refuses paths outside the file roots through the collector and changes nothing', async () => {
    const payloads = [
      `${root}/../outside/canary.txt`,
      `${root}/link-out/canary.txt`,
      `${root}/%2e%2e/outside/canary.txt`,
      `${outside}/canary.txt`,
      `${root}/CON`,
      `${root}/file.txt::$DATA`,
      'C:\\Windows\\win.ini',
    ];
    for (const p of payloads) {
      await expect(
        uploadFile(c.admin, agent.agentId, join(local, 'random.bin'), p),
        `upload ${p}`,
      ).rejects.toMatchObject({
        code: expect.stringMatching(/OUTPOST_E_PATH_REFUSED|OUTPOST_E_NOT_FOUND/),
      });
      await expect(
        downloadFile(c.admin, agent.agentId, p, join(local, 'stolen.bin')),
        `download ${p}`,
      ).rejects.toMatchObject({
        code: expect.stringMatching(/OUTPOST_E_PATH_REFUSED|OUTPOST_E_NOT_FOUND/),
      });
    }
    expect(readFileSync(join(outside, 'canary.txt'), 'utf8')).toBe('canary');
    expect(existsSync(join(local, 'stolen.bin'))).toBe(false);
    const audit = await auditEvents(c.admin);
    expect(
      audit.filter((e) => e.type === 'file.upload' && e.code === 'OUTPOST_E_PATH_REFUSED' && e.result === 'failure')
        .length,
    ).toBeGreaterThanOrEqual(5);
  });

  it('answers 403 with an audit row to a technician without the file permissions, and writes nothing', async () => {
    const tier1 = await technician(c, 'tier1');
    const target = join(root, 'tier1.bin');
    await expect(uploadFile(tier1, agent.agentId, join(local, 'random.bin'), target)).rejects.toMatchObject({
      code: 'OUTPOST_E_FORBIDDEN',
      details: { status: 403 },
    });
    await expect(
      downloadFile(tier1, agent.agentId, join(root, 'resume.bin'), join(local, 'tier1.bin')),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_FORBIDDEN' });
    expect(existsSync(target)).toBe(false);
    const denied = (await auditEvents(c.admin)).filter(
      (e) => e.result === 'denied' && e.code === 'OUTPOST_E_FORBIDDEN',
    );
    expect(denied.map((e) => e.type)).toEqual(expect.arrayContaining(['file.write', 'file.read']));
    // The same copy works for tier 2.
    const tier2 = await technician(c, 'tier2');
    const r = await uploadFile(tier2, agent.agentId, join(local, 'random.bin'), target);
    expect(r.sha256).toBe(sha(data));
  });

  it('fails an upload whose bytes do not match the SHA-256 announced, and audits it', async () => {
    const url = new URL(
      `/api/v1/agents/${agent.agentId}/files?direction=upload&path=${encodeURIComponent(join(root, 'forged.txt'))}&size=5&sha256=${'0'.repeat(64)}`,
      c.apiUrl.replace(/^http/, 'ws'),
    );
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${c.admin.token}` }, rejectUnauthorized: false });
    const texts: { type: string; code?: string; sessionId?: string }[] = [];
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('message', (d, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(d.toString()) as { type: string; code?: string };
      texts.push(m);
      if (m.type === 'transfer.ready') {
        ws.send(encodeFrame(FrameKind.Data, 1, Buffer.from('hello')));
        ws.send(encodeFrame(FrameKind.End, 1));
      }
    });
    expect(await closed).toBe(4483);
    expect(texts.at(-1)).toMatchObject({ type: 'session.error', code: 'OUTPOST_E_CHECKSUM_MISMATCH' });
    const id = texts.find((m) => m.type === 'transfer.ready')!.sessionId;
    let row: { type: string; code: string; result: string } | undefined;
    for (let i = 0; i < 100 && !row; i++) {
      row = (await auditEvents(c.admin)).find((e) => e.sessionId === id);
      if (!row) await new Promise((r) => setTimeout(r, 20));
    }
    expect(row).toMatchObject({ type: 'file.upload', code: 'OUTPOST_E_CHECKSUM_MISMATCH', result: 'failure' });
  });

  it('closes the file on the agent when an upload is refused after opening it (resume offset conflict)', async () => {
    const target = join(root, 'conflict.bin');
    writeFileSync(target, 'abc');
    const openOnAgent = () =>
      readdirSync(`/proc/${agent.proc.child.pid}/fd`).filter((fd) => {
        try {
          return readlinkSync(`/proc/${agent.proc.child.pid}/fd/${fd}`) === target;
        } catch {
          return false;
        }
      }).length;
    for (let i = 0; i < 3; i++) {
      const url = new URL(
        `/api/v1/agents/${agent.agentId}/files?direction=upload&path=${encodeURIComponent(target)}&size=100&offset=50&sha256=${'0'.repeat(64)}`,
        c.apiUrl.replace(/^http/, 'ws'),
      );
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${c.admin.token}` },
        rejectUnauthorized: false,
      });
      const texts: { type: string; code?: string }[] = [];
      ws.on('message', (d, isBinary) => {
        if (!isBinary) texts.push(JSON.parse(d.toString()) as { type: string; code?: string });
      });
      expect(await new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))).toBe(4483);
      expect(texts.at(-1)).toMatchObject({ type: 'session.error', code: 'OUTPOST_E_CONFLICT' });
    }
    expect(openOnAgent()).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('abc');
  });

  it('refuses an upload over the collector size limit before anything reaches the agent', async () => {
    const big = join(local, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, MAX + 1);
    await expect(uploadFile(c.admin, agent.agentId, big, join(root, 'big.bin'))).rejects.toMatchObject({
      code: 'OUTPOST_E_PAYLOAD_TOO_LARGE',
    });
    expect(existsSync(join(root, 'big.bin'))).toBe(false);
  });

  it("puts each transfer on the timeline of the machine's open incidents", async () => {
    const a = await apiCall<{ clientId: string; siteId: string }>(c.admin, 'GET', `/api/v1/agents/${agent.agentId}`);
    const inc = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
      clientId: a.clientId,
      siteId: a.siteId,
      agentIds: [agent.agentId],
      title: 'Config file broken',
      type: 'configuration',
      criticality: 'P3',
    });
    writeFileSync(join(local, 'small.txt'), 'fixed config\n');
    const up = await uploadFile(c.admin, agent.agentId, join(local, 'small.txt'), join(root, 'small.txt'));
    const down = await downloadFile(c.admin, agent.agentId, join(root, 'small.txt'), join(local, 'small-back.txt'));
    const shown = await apiCall<{ timeline: { kind: string; actor: string; data: Record<string, unknown> }[] }>(
      c.admin,
      'GET',
      `/api/v1/incidents/${inc.id}`,
    );
    const email = c.collector.initialAdmin!.email;
    expect(shown.timeline.filter((e) => e.kind === 'session').map((e) => [e.actor, e.data])).toEqual([
      [email, { sessionId: up.sessionId, kind: 'upload', user: email, agentId: agent.agentId }],
      [email, { sessionId: down.sessionId, kind: 'download', user: email, agentId: agent.agentId }],
    ]);
  });
});
