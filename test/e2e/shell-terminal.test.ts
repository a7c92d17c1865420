/**
 * `outpost shell` as a technician runs it: the CLI process in a real local terminal (a PTY), against a real
 * collector and agent. The remote terminal opens at the window's size and follows its resizes (a running `vi` sees
 * them), output reaches the window byte for byte (raw, as with ssh), Ctrl-C reaches the remote program, `~.` ends
 * the session from this side, the CLI exits with the remote shell's status, and it says clearly when the agent is
 * offline or the user may not open a shell.
 */
import { join } from 'node:path';
import { apiCall, ShellClient } from '@outpost/collector';
import { CHANNEL_WINDOW_BYTES } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpostBin, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { cliEnv, OutputBuffer, processAlive, type ShellAgent, startShellAgent, technician } from '../support/shell.js';
import { spawnInTerminal, type Terminal } from '../support/terminal.js';

const KEEPALIVE = 300;
let c: TestCollector;
let agent: ShellAgent;
const dir = tempDir('shell-terminal');

beforeAll(async () => {
  // Short keep-alive rounds: a CLI that stopped answering (its event loop blocked) would lose its session quickly.
  c = await startTestCollector({ sessions: { keepAliveMs: KEEPALIVE } } as never);
  agent = await startShellAgent(c, join(dir.path, 'agent'));
});
afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** `outpost shell <agentId>` in a terminal of cols×rows, as the technician `as` (the admin by default). */
function shellInTerminal(
  agentId: string,
  size: { cols: number; rows: number },
  as = c.admin,
): { term: Terminal; out: OutputBuffer } {
  const term = spawnInTerminal(process.execPath, [outpostBin, 'shell', agentId], {
    ...size,
    env: cliEnv(as, dir.path),
  });
  const out = new OutputBuffer();
  term.onData(out.push);
  return { term, out };
}

describe('outpost shell in a terminal', () => {
  it('opens at the window size, follows resizes (vi too, while it runs), sends Ctrl-C to the remote program, exits with its status', async () => {
    const { term, out } = shellInTerminal(agent.agentId, { cols: 100, rows: 30 });
    try {
      term.write('stty size; echo size-$((1))-shown\r');
      // Byte for byte what the remote terminal sent: the local terminal adds no "\r" to a "\n" (raw output, as ssh).
      await out.waitFor(/\r30 100\r\nsize-1-shown\r\n/);

      // The window is resized: the CLI gets SIGWINCH and the remote terminal takes the new size.
      term.resize(120, 40);
      // SIGWINCH reaches the CLI asynchronously; typed before it is handled, the command would see the old size.
      await new Promise((r) => setTimeout(r, 300));
      term.write('stty size; echo size-$((2))-shown\r');
      await out.waitFor(/\r40 120\r\nsize-2-shown\r\n/);

      // A full-screen program running while the window changes size follows it (SIGWINCH through the relay).
      term.write('vi -u NONE -N\r');
      await out.waitFor(/\x1b\[\?1049h/);
      term.write(':set columns? lines?\r');
      await out.waitFor(/columns=120\s+lines=40/);
      term.resize(90, 25);
      // As above: let SIGWINCH reach the CLI before vi is asked its size.
      await new Promise((r) => setTimeout(r, 300));
      term.write(':set columns? lines?\r');
      await out.waitFor(/columns=90\s+lines=25/);
      term.write(':q!\r');
      // vi leaves the alternate screen; keys typed before it has exited would be vi's, not the shell's.
      await out.waitFor(/\x1b\[\?1049l[\s\S]*bash-[\d.]+\$ $/);
      term.write('echo vi-$((5))-closed\r');
      await out.waitFor(/vi-5-closed/);

      // In a raw terminal Ctrl-C is a byte for the remote program, not a signal for the CLI.
      term.write('sleep 30\r');
      // Ctrl-C must reach a running `sleep`, not the shell's line editor; nothing observable says it has started.
      await new Promise((r) => setTimeout(r, 500));
      const interrupted = Date.now();
      term.write('\x03');
      await out.waitFor(/sleep 30\r\n(?:\x1b\[\?2004l\r)?\^C\r\n/);
      term.write('echo cli-$((4))-alive\r');
      await out.waitFor(/cli-4-alive/);
      expect(Date.now() - interrupted).toBeLessThan(10_000);

      term.write('exit 7\r');
      expect(await term.exited).toBe(7);
    } finally {
      term.kill('SIGKILL');
    }
  });

  it('a frozen terminal pauses the remote program; the session outlives many keep-alive rounds', async () => {
    const { term, out } = shellInTerminal(agent.agentId, { cols: 80, rows: 24 });
    try {
      term.write('echo ready-$((1))\r');
      await out.waitFor(/ready-1/);
      const live = [...c.collector.sessions.live.values()].at(-1)!;
      term.write('yes frozen-terminal\r');
      await out.waitFor(/frozen-terminal\r\n/);
      // The window stops taking output: the CLI's writes back up. It must go on answering pings (its stdout does
      // not block it) while the remote `yes` waits on credit.
      term.pause();
      // Let the pipes and the window fill, then measure over ten keep-alive rounds: the durations are the test.
      await new Promise((r) => setTimeout(r, 500));
      const relayed = live.bytesOut;
      await new Promise((r) => setTimeout(r, 10 * KEEPALIVE)); // the measured span
      expect(live.ended).toBeUndefined();
      expect(live.bytesOut - relayed).toBeLessThanOrEqual(CHANNEL_WINDOW_BYTES);
      term.resume();
      const resumed = live.bytesOut;
      for (let i = 0; i < 300 && live.bytesOut - resumed < 4 * CHANNEL_WINDOW_BYTES; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(live.bytesOut - resumed).toBeGreaterThanOrEqual(4 * CHANNEL_WINDOW_BYTES);
      term.write('\x03');
      term.write('exit 0\r');
      expect(await term.exited).toBe(0);
    } finally {
      term.kill('SIGKILL');
    }
  });

  it('~. at the start of a line ends the session from this side, and its processes with it', async () => {
    const { term, out } = shellInTerminal(agent.agentId, { cols: 80, rows: 24 });
    try {
      term.write('sleep 4324 & echo BG=$!\r');
      const bg = Number((await out.waitFor(/BG=(\d+)/))[1]);
      // A program that reads its terminal and ignores Ctrl-C: only the escape gets the technician out.
      term.write("trap '' INT; cat\r");
      // Ctrl-C must reach a running `cat` that ignores it; nothing observable says it has started.
      await new Promise((r) => setTimeout(r, 300));
      term.write('\x03\r~.');
      expect(await term.exited).toBe(255);
      expect(out.text).toContain('session closed from this side (~.)');
      const until = Date.now() + 5000;
      while (processAlive(bg) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(processAlive(bg)).toBe(false);
    } finally {
      term.kill('SIGKILL');
    }
  });

  it('sessions play replays the bytes as recorded (raw output) and stops on q', async () => {
    const s = await ShellClient.open(c.admin, agent.agentId);
    const out = new OutputBuffer();
    s.onData(out.push);
    // A bare line feed in the output (the remote terminal's ONLCR off): the replay must not turn it into CR LF.
    s.write("stty -onlcr; printf 'one\\ntwo\\n'; stty onlcr; for i in 1 2 3; do sleep 1; echo tick-$i; done; exit 0\n");
    expect((await s.ended).exitCode).toBe(0);
    for (let i = 0; i < 100; i++) {
      const r = await apiCall<{ recordingStatus: string }>(c.admin, 'GET', `/api/v1/sessions/${s.sessionId}`);
      if (r.recordingStatus === 'ok') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const term = spawnInTerminal(process.execPath, [outpostBin, 'sessions', 'play', s.sessionId], {
      cols: 80,
      rows: 24,
      env: cliEnv(c.admin, dir.path),
    });
    const replay = new OutputBuffer();
    term.onData(replay.push);
    try {
      await replay.waitFor(/one\ntwo\n/);
      const pressed = Date.now();
      term.write('q');
      expect(await term.exited).toBe(0);
      expect(Date.now() - pressed).toBeLessThan(2500);
      expect(replay.text).not.toContain('tick-3');
    } finally {
      term.kill('SIGKILL');
    }
  });

  it('says the agent is offline, and exits non-zero', async () => {
    const gone = await startShellAgent(c, join(dir.path, 'gone'));
    await gone.proc.kill('SIGTERM');
    const { term, out } = shellInTerminal(gone.agentId, { cols: 80, rows: 24 });
    expect(await term.exited).not.toBe(0);
    expect(out.text).toContain('OUTPOST_E_AGENT_OFFLINE');
    expect(out.text).toContain(`Agent ${gone.agentId} is not connected`);
  });

  it('says the user may not open a shell, and exits non-zero', async () => {
    const viewer = await technician(c, 'viewer');
    const { term, out } = shellInTerminal(agent.agentId, { cols: 80, rows: 24 }, viewer);
    expect(await term.exited).not.toBe(0);
    expect(out.text).toMatch(/OUTPOST_E_FORBIDDEN.*shell/);
  });
});
