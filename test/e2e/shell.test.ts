/**
 * Remote shell end to end: a real collector, a real agent process, real PTYs. Commands and output, exit status,
 * resize seen by a program, the process tree gone after a disconnect, 50 isolated sessions, a slow technician
 * bounding collector memory, read-only joiners, and the recording replayed.
 */

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall, NO_ECHO_MARKER, playCast, ShellClient } from '@outpost/collector';
import { CHANNEL_WINDOW_BYTES } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpostBin, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { cliEnv, OutputBuffer, processAlive, type ShellAgent, startShellAgent } from '../support/shell.js';

let c: TestCollector;
let agent: ShellAgent;
const dir = tempDir('shell-e2e');

beforeAll(async () => {
  c = await startTestCollector();
  agent = await startShellAgent(c, dir.path);
});
afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

const open = async (opts: Parameters<typeof ShellClient.open>[2] = {}) => {
  const s = await ShellClient.open(c.admin, agent.agentId, opts);
  const out = new OutputBuffer();
  s.onData(out.push);
  return { s, out };
};

/** `outpost <args>` as a process whose stdout is a FIFO nobody reads (a terminal or pipe that stopped taking output). */
function unreadCli(...args: string[]) {
  const fifo = join(dir.path, `unread-${Math.random().toString(36).slice(2)}`);
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  const child = spawn(process.execPath, [outpostBin, ...args], {
    stdio: ['pipe', writer, 'pipe'],
    env: cliEnv(c.admin, dir.path),
  });
  closeSync(writer);
  return {
    child,
    rss: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    async [Symbol.asyncDispose]() {
      const exited = new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      child.kill('SIGKILL');
      await exited;
      closeSync(reader);
    },
  };
}

describe('remote shell', () => {
  it('runs commands, returns their output and the exit status, and records the session', async () => {
    const { s, out } = await open();
    expect(s.runAs).toBe('nobody');
    s.write('echo result=$((6*7)); id -un\n');
    await out.waitFor(/result=42\r?\n(.*\r?\n)?nobody/);
    s.write('exit 3\n');
    const end = await s.ended;
    expect(end.exitCode).toBe(3);

    let rec: { endedAt: number | null; recordingStatus: string; exitCode: number | null } | undefined;
    for (let i = 0; i < 100; i++) {
      rec = await apiCall(c.admin, 'GET', `/api/v1/sessions/${s.sessionId}`);
      if (rec?.recordingStatus === 'ok') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(rec).toMatchObject({ recordingStatus: 'ok', exitCode: 3 });
    const cast = await apiCall<string>(c.admin, 'GET', `/api/v1/sessions/${s.sessionId}/recording`);
    const [header, ...events] = cast.trim().split('\n');
    expect(JSON.parse(header!)).toMatchObject({ version: 2, width: 80, height: 24 });
    expect(events.some((e) => JSON.parse(e)[1] === 'i')).toBe(true);
    let played = '';
    await playCast(cast, 1000, (x) => {
      played += x;
    });
    expect(played).toContain('result=42');
    const list = await apiCall<{ sessions: { id: string }[] }>(c.admin, 'GET', '/api/v1/sessions');
    expect(list.sessions.map((x) => x.id)).toContain(s.sessionId);
    const audit = await apiCall<{ events: { type: string; sessionId: string | null }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=1000',
    );
    const types = audit.events.filter((e) => e.sessionId === s.sessionId).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['shell.open', 'shell.close']));
  });

  it('records typed commands but not what is typed at a prompt that does not echo (read -s, a password prompt)', async () => {
    const { s, out } = await open();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // A command typed key by key, as a technician does.
    for (const ch of 'echo visible-$((20+1))\n') {
      s.write(ch);
      await sleep(15);
    }
    await out.waitFor(/visible-21/);
    // A password prompt in a child process (as sudo or passwd would), the secret typed key by key.
    s.write(`bash -c 'read -s -p "Password: " p; echo "done \${#p}"'\n`);
    await out.waitFor(/Password: /);
    await sleep(300); // a person reads the prompt first
    for (const ch of 'hunter2-typed-SECRET') {
      s.write(ch);
      await sleep(30);
    }
    s.write('\n');
    await out.waitFor(/done 20/);
    // The shell's own `read -s`, the secret pasted in one frame with its Enter.
    s.write(`read -s -p "Token: " t; echo "got \${#t}"\n`);
    await out.waitFor(/Token: /);
    await sleep(300); // a person reads the prompt first
    s.write('pasted-SECRET-token\n');
    await out.waitFor(/got 19/);
    s.write('echo after-$((1+2))\n');
    await out.waitFor(/after-3/);
    s.write('exit\n');
    await s.ended;

    let status = '';
    for (let i = 0; i < 100 && status !== 'ok'; i++) {
      status = (await apiCall<{ recordingStatus: string }>(c.admin, 'GET', `/api/v1/sessions/${s.sessionId}`))
        .recordingStatus;
      if (status !== 'ok') await sleep(20);
    }
    const cast = await apiCall<string>(c.admin, 'GET', `/api/v1/sessions/${s.sessionId}/recording`);
    expect(cast).not.toContain('SECRET');
    expect(cast).not.toContain('hunter2');
    const input = cast
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l) as [number, string, string])
      .filter((e) => e[1] === 'i')
      .map((e) => e[2])
      .join('');
    expect(input).toContain('echo visible-$((20+1))');
    expect(input).toContain('read -s -p "Password: " p');
    expect(input).toContain('read -s -p "Token: " t');
    expect(input).toContain('echo after-$((1+2))');
    expect(input).toContain('exit');
    // One marker per run of hidden input: the secret's length and rhythm are not kept either.
    expect(input.split(NO_ECHO_MARKER).length - 1).toBe(2);
  });

  it('reports the new size to a program after a resize', async () => {
    const { s, out } = await open({ cols: 80, rows: 24 });
    s.write('stty size; tput cols\n');
    await out.waitFor(/24 80\r?\n80/);
    s.resize(132, 43);
    s.write('stty size; tput cols\n');
    await out.waitFor(/43 132\r?\n132/);
    // Dragging a window edge: forty sizes in a burst. The program sees the last one; the audit log keeps one row
    // per second of them, not forty.
    for (let i = 0; i < 40; i++) s.resize(90 + i, 30);
    s.write('stty size\n');
    await out.waitFor(/30 129\r?\n/);
    s.close();
    await s.ended;
    const audit = await apiCall<{
      events: { type: string; sessionId: string | null; details: { cols: number; rows: number } | null }[];
    }>(c.admin, 'GET', '/api/v1/audit?limit=1000');
    const resizes = audit.events.filter((e) => e.sessionId === s.sessionId && e.type === 'shell.resize');
    expect(resizes.length).toBeGreaterThanOrEqual(2);
    expect(resizes.length).toBeLessThanOrEqual(3);
    // The size the burst ended on is in the log, not only the first of the second.
    expect(resizes.map((e) => e.details)).toContainEqual({ cols: 129, rows: 30 });
    expect(resizes.map((e) => e.details)).toContainEqual({ cols: 132, rows: 43 });
  });

  it('leaves no process of the session behind when the technician disconnects', async () => {
    const { s, out } = await open();
    s.write('sleep 1234 & echo BG=$!; (setsid sleep 1235 & echo SID=$!)\n');
    const bg = Number((await out.waitFor(/BG=(\d+)/))[1]);
    const sid = Number((await out.waitFor(/SID=(\d+)/))[1]);
    expect(processAlive(bg)).toBe(true);
    expect(processAlive(sid)).toBe(true);
    s.terminate();
    const until = Date.now() + 5000;
    while ((processAlive(bg) || processAlive(sid)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(processAlive(bg)).toBe(false);
    expect(processAlive(sid)).toBe(false);
  });

  it('keeps 50 concurrent sessions isolated', async () => {
    const sessions = await Promise.all(Array.from({ length: 50 }, () => open()));
    for (const [i, { s }] of sessions.entries()) s.write(`echo mark-$((0+${i}))-end\n`);
    await Promise.all(sessions.map(({ out }, i) => out.waitFor(new RegExp(`mark-${i}-end`))));
    sessions.forEach(({ out }, i) => {
      const seen = [...out.text.matchAll(/mark-(\d+)-end/g)].map((m) => Number(m[1]));
      expect(new Set(seen)).toEqual(new Set([i]));
    });
    expect(new Set(sessions.map(({ s }) => s.sessionId)).size).toBe(50);
    for (const { s } of sessions) s.close();
    await Promise.all(sessions.map(({ s }) => s.ended));
  });

  it('pauses the remote program when the technician stops reading (collector memory stays bounded)', async () => {
    const { s } = await open({ manualCredit: true });
    s.write('yes outpost-flow-control\n');
    // `yes` fills the window at once on an idle machine; a loaded one may take seconds to start it and fill it.
    for (const until = Date.now() + 15_000; s.received < CHANNEL_WINDOW_BYTES && Date.now() < until; )
      await new Promise((r) => setTimeout(r, 10));
    const live = c.collector.sessions.live.get(s.sessionId)!;
    const first = s.received;
    expect(first).toBeLessThanOrEqual(CHANNEL_WINDOW_BYTES);
    expect(live.outstandingToTech).toBeLessThanOrEqual(CHANNEL_WINDOW_BYTES);
    expect(live.writer.bufferedAmount).toBeLessThanOrEqual(CHANNEL_WINDOW_BYTES);
    // An absence: nothing more may flow without credit.
    await new Promise((r) => setTimeout(r, 300));
    expect(s.received).toBe(first);
    s.grant(first);
    const until = Date.now() + 3000;
    while (s.received <= first && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(s.received).toBeGreaterThan(first);
    s.close();
    await s.ended;
  });

  it('one technician holds sessions on several agents at once, each shell a child of its own agent', async () => {
    const second = await startShellAgent(c, join(dir.path, 'second-agent'));
    try {
      const [a, b] = await Promise.all([
        ShellClient.open(c.admin, agent.agentId),
        ShellClient.open(c.admin, second.agentId),
      ]);
      const outA = new OutputBuffer();
      const outB = new OutputBuffer();
      a.onData(outA.push);
      b.onData(outB.push);
      a.write('echo parent=$PPID mark=A$((1))\n');
      b.write('echo parent=$PPID mark=B$((2))\n');
      const parentA = (await outA.waitFor(/parent=(\d+) mark=A1/))[1];
      const parentB = (await outB.waitFor(/parent=(\d+) mark=B2/))[1];
      expect(Number(parentA)).toBe(agent.proc.child.pid);
      expect(Number(parentB)).toBe(second.proc.child.pid);
      expect(outA.text).not.toContain('mark=B2');
      expect(outB.text).not.toContain('mark=A1');
      const rows = await Promise.all(
        [a, b].map((s) => apiCall<{ agentId: string }>(c.admin, 'GET', `/api/v1/sessions/${s.sessionId}`)),
      );
      expect(rows.map((r) => r.agentId)).toEqual([agent.agentId, second.agentId]);
      a.close();
      b.close();
      await Promise.all([a.ended, b.ended]);
    } finally {
      await second.proc.kill('SIGTERM');
    }
  });

  it('outpost shell with an output nobody reads pauses the remote program; its memory stays bounded', async () => {
    // Its stdout backs up, so it must stop returning credit (it returned credit as frames arrived, and queued
    // everything `yes` printed in its own memory).
    await using cli = unreadCli('shell', agent.agentId);
    let live: ReturnType<typeof c.collector.sessions.live.get>;
    for (let i = 0; i < 200 && !live; i++) {
      await new Promise((r) => setTimeout(r, 25));
      live = [...c.collector.sessions.live.values()].find((l) => l.agent.agentId === agent.agentId && l.bytesIn === 0);
    }
    expect(live, 'the CLI opened a session').toBeDefined();
    cli.child.stdin!.write('yes outpost-unread-output\n');
    // Let the FIFO and the window fill, then measure growth over two seconds: the durations are the test.
    await new Promise((r) => setTimeout(r, 1000));
    const [out1, mem1] = [live!.bytesOut, cli.rss()];
    await new Promise((r) => setTimeout(r, 2000)); // the measured span
    // Nothing more flows once the FIFO and the window are full; before, `yes` ran on at tens of MB/s into RAM.
    expect(live!.bytesOut - out1).toBeLessThanOrEqual(CHANNEL_WINDOW_BYTES);
    expect(live!.bytesOut).toBeLessThan(4 * 1024 * 1024);
    expect(cli.rss() - mem1).toBeLessThan(8 * 1024 * 1024);
    expect(live!.outstandingToTech).toBeLessThanOrEqual(CHANNEL_WINDOW_BYTES);
    expect(cli.child.exitCode).toBeNull();
  });

  it('outpost sessions join with an output nobody reads is dropped by the collector, its memory bounded', async () => {
    const { s } = await open();
    await using cli = unreadCli('sessions', 'join', s.sessionId);
    const live = c.collector.sessions.live.get(s.sessionId)!;
    for (let i = 0; i < 200 && live.joiners.size === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(live.joiners.size).toBe(1);
    const mem0 = cli.rss();
    s.write('yes outpost-unread-watcher\n');
    for (let i = 0; i < 200 && live.joiners.size > 0; i++) await new Promise((r) => setTimeout(r, 25));
    // The owner's output ran on; the watcher that stopped reading was dropped instead of buffered anywhere.
    expect(live.joiners.size).toBe(0);
    expect(s.received).toBeGreaterThan(4 * 1024 * 1024);
    expect(cli.rss() - mem0).toBeLessThan(16 * 1024 * 1024);
    s.close();
    await s.ended;
  });

  it('lets a second technician watch read-only', async () => {
    const { s, out } = await open();
    const watcher = await ShellClient.open(c.admin, '', { joinSessionId: s.sessionId });
    const seen = new OutputBuffer();
    watcher.onData(seen.push);
    watcher.write('echo injected-by-$((1))watcher\n');
    s.write('echo from-$((1))owner\n');
    await seen.waitFor(/from-1owner/);
    await out.waitFor(/from-1owner/);
    // An absence: the watcher's input, sent before the owner's, must never show up.
    await new Promise((r) => setTimeout(r, 100));
    expect(out.text).not.toContain('injected-by');
    s.close();
    await Promise.all([s.ended, watcher.ended]);
    const audit = await apiCall<{ events: { type: string; sessionId: string | null }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=1000',
    );
    expect(audit.events.some((e) => e.type === 'shell.join' && e.sessionId === s.sessionId)).toBe(true);
  });

  it("shows the session, with who opened it, on the timeline of the machine's open incidents", async () => {
    const a = await apiCall<{ clientId: string; siteId: string }>(c.admin, 'GET', `/api/v1/agents/${agent.agentId}`);
    const ticket = (title: string) =>
      apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
        clientId: a.clientId,
        siteId: a.siteId,
        agentIds: [agent.agentId],
        title,
        type: 'availability',
        criticality: 'P3',
      });
    const open1 = await ticket('Web service down');
    const acked = await ticket('Backups failing');
    await apiCall(c.admin, 'POST', `/api/v1/incidents/${acked.id}/ack`, {});
    const done = await ticket('Disk full');
    await apiCall(c.admin, 'POST', `/api/v1/incidents/${done.id}/resolve`, { note: 'cleaned', category: 'fixed' });
    const other = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
      clientId: a.clientId,
      siteId: a.siteId,
      title: 'Printer jam',
      type: 'printing',
      criticality: 'P4',
    });

    const { s } = await open();
    const timeline = async (id: string) =>
      (
        await apiCall<{ timeline: { kind: string; actor: string; data: Record<string, unknown> }[] }>(
          c.admin,
          'GET',
          `/api/v1/incidents/${id}`,
        )
      ).timeline.filter((e) => e.kind === 'session');
    const email = c.collector.initialAdmin!.email;
    for (const id of [open1.id, acked.id])
      expect(await timeline(id)).toEqual([
        expect.objectContaining({
          kind: 'session',
          actor: email,
          data: { sessionId: s.sessionId, kind: 'shell', user: email, agentId: agent.agentId },
        }),
      ]);
    // A resolved ticket and a ticket of no machine of this session are left alone.
    expect(await timeline(done.id)).toEqual([]);
    expect(await timeline(other.id)).toEqual([]);
    s.close();
    await s.ended;
  });
});
