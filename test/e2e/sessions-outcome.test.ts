/**
 * How sessions end, as the API and `outpost sessions list` tell it: refused shells and transfers say refused (with
 * the agent's code) instead of looking successful or "recording"; and a collector SIGKILLed while a shell runs ends
 * that session when it starts again ("collector restarted"), with its recording salvaged and playable.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall, downloadFile, playCast, ShellClient } from '@outpost/collector';
import { afterAll, describe, expect, it } from 'vitest';
import {
  outpostBin,
  ProcessCleanup,
  spawnNode,
  startTestCollector,
  type TestCollector,
  tempDir,
} from '../support/collector.js';
import { bootstrap, freePort, startCollectorProcess } from '../support/process-collector.js';
import { OutputBuffer, startShellAgent } from '../support/shell.js';

const dir = tempDir('e2e-session-outcome');
const cleanup = new ProcessCleanup();
let c: TestCollector | undefined;
afterAll(async () => {
  await cleanup[Symbol.asyncDispose]();
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

interface Row {
  id: string;
  endedAt: number | null;
  outcome: string | null;
  outcomeCode: string | null;
  closeReason: string | null;
  recordingStatus: string;
  live: boolean;
}

/** Polls a session row until it is finished (its row is written just after the technician hears the end). */
async function finished(as: ApiTarget, id: string): Promise<Row> {
  for (let i = 0; i < 200; i++) {
    const r = await apiCall<Row>(as, 'GET', `/api/v1/sessions/${id}`);
    if (r.endedAt !== null && r.recordingStatus !== 'recording') return r;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`session ${id} did not finish`);
}

/** `outpost sessions list` as a real CLI process. */
async function sessionsList(as: ApiTarget): Promise<string> {
  const cli = cleanup.use(
    spawnNode(outpostBin, [
      '--server',
      as.server,
      '--ca-fingerprint',
      as.caFingerprint!,
      '--token',
      as.token!,
      'sessions',
      'list',
    ]),
  );
  expect(await cli.exited).toBe(0);
  return cli.stdout();
}

describe('session outcomes', () => {
  it('stores and shows ok, refused with the code, for shells and transfers', async () => {
    c = await startTestCollector();
    const files = join(dir.path, 'files');
    mkdirSync(files, { recursive: true });
    writeFileSync(join(files, 'ok.txt'), 'fine');
    writeFileSync(join(dir.path, 'outside.txt'), 'not for you');
    const agent = await startShellAgent(c, join(dir.path, 'agent'), {
      shell: { user: 'nobody', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], allowElevated: false },
      fileRoots: [files],
    });
    cleanup.use(agent.proc);

    const ok = await ShellClient.open(c.admin, agent.agentId);
    ok.write('exit 0\n');
    await ok.ended;
    await expect(ShellClient.open(c.admin, agent.agentId, { elevated: true })).rejects.toMatchObject({
      code: 'OUTPOST_E_SESSION_REFUSED',
    });
    const down = await downloadFile(c.admin, agent.agentId, join(files, 'ok.txt'), join(dir.path, 'ok.txt'));
    await expect(
      downloadFile(c.admin, agent.agentId, join(dir.path, 'outside.txt'), join(dir.path, 'x.txt')),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_PATH_REFUSED' });

    const { sessions } = await apiCall<{ sessions: (Row & { kind: string; elevated: boolean })[] }>(
      c.admin,
      'GET',
      '/api/v1/sessions',
    );
    const refusedShell = sessions.find((s) => s.kind === 'shell' && s.elevated)!;
    const refusedDownload = sessions.find((s) => s.kind === 'download' && s.id !== down.sessionId)!;
    expect(await finished(c.admin, ok.sessionId)).toMatchObject({ outcome: 'ok', outcomeCode: null });
    expect(await finished(c.admin, down.sessionId)).toMatchObject({ outcome: 'ok', outcomeCode: null });
    expect(await finished(c.admin, refusedShell.id)).toMatchObject({
      outcome: 'refused',
      outcomeCode: 'OUTPOST_E_SESSION_REFUSED',
      // Nothing ran, so nothing was recorded (it said "recording" for ever before).
      recordingStatus: 'none',
    });
    expect(await finished(c.admin, refusedDownload.id)).toMatchObject({
      outcome: 'refused',
      outcomeCode: 'OUTPOST_E_PATH_REFUSED',
    });

    const table = await sessionsList(c.admin);
    const line = (id: string) => table.split('\n').find((l) => l.startsWith(id)) ?? '';
    expect(table.split('\n')[0]).toMatch(/OUTCOME/);
    expect(line(ok.sessionId)).toMatch(/\bok\b/);
    expect(line(down.sessionId)).toMatch(/\bok\b/);
    expect(line(refusedShell.id)).toMatch(/refused OUTPOST_E_SESSION_REFUSED/);
    expect(line(refusedShell.id)).not.toMatch(/\brecording\b/);
    expect(line(refusedDownload.id)).toMatch(/refused OUTPOST_E_PATH_REFUSED/);
  });
});

describe('a collector killed while a shell runs', () => {
  it('ends the orphaned session when it starts again and serves its recording up to where it stopped', async () => {
    const port = await freePort();
    const dataDir = join(dir.path, 'collector');
    let serve = await startCollectorProcess(dataDir, port);
    cleanup.use(serve.proc);
    const { admin, token } = await bootstrap(serve);
    const agent = await startShellAgent(
      {
        agentUrl: serve.apiUrl,
        fingerprint: serve.fingerprint,
        admin,
        enrollmentToken: async () => ({ token, id: '' }),
      },
      join(dir.path, 'agent-crash'),
    );
    cleanup.use(agent.proc);

    const s = await ShellClient.open(admin, agent.agentId);
    const out = new OutputBuffer();
    s.onData(out.push);
    s.write('echo before-$((20+3))-crash\n');
    await out.waitFor(/before-23-crash/);
    // The recording writes a batch every 50 ms; give it that, then kill the collector without any chance to finish.
    await new Promise((r) => setTimeout(r, 300));
    serve.proc.child.kill('SIGKILL');
    await serve.proc.exited;
    await s.ended.catch(() => undefined);

    serve = await startCollectorProcess(dataDir, port);
    cleanup.use(serve.proc);
    const again: ApiTarget = { ...admin, server: serve.apiUrl, caFingerprint: serve.fingerprint };
    const row = await finished(again, s.sessionId);
    expect(row).toMatchObject({
      live: false,
      outcome: 'ended',
      outcomeCode: 'OUTPOST_E_UNAVAILABLE',
      closeReason: 'collector restarted',
      recordingStatus: 'truncated',
    });
    const cast = await apiCall<string>(again, 'GET', `/api/v1/sessions/${s.sessionId}/recording`);
    for (const l of cast.trim().split('\n')) expect(() => JSON.parse(l)).not.toThrow();
    let played = '';
    await playCast(cast, 1000, (x) => {
      played += x;
    });
    expect(played).toContain('before-23-crash');
    expect(await sessionsList(again)).toMatch(new RegExp(`${s.sessionId}.*ended \\(collector restarted\\)`));
  });
});
