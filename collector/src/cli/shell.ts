/**
 * `outpost shell <agent>`, `outpost sessions list|play|join` (list shows file transfers too): a raw terminal on a remote machine through the
 * collector, and the replay of recorded sessions (asciicast v2) at real or faster speed.
 */
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { api, apiText } from './api.js';
import { commandTarget } from './credentials.js';
import { EscapeFilter } from './escape.js';
import { numberIn } from './flags.js';
import { printRows, sayErr, when } from './output.js';
import { ShellClient } from './shell-client.js';

const target = commandTarget;

/** Runs an interactive session on this terminal; resolves with the exit status to use. */
async function interactive(client: ShellClient): Promise<number> {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) rawTerminal();
  if (process.stdout.isTTY) nonBlocking(process.stdout);
  // Credit goes back once the bytes are out: a terminal or pipe slower than the remote program pauses the program
  // (through the agent's PTY) instead of queueing its output in this process.
  client.onData((d) => process.stdout.write(d, () => client.consumed(d.length)));
  const escapes = raw ? new EscapeFilter() : undefined;
  let escaped = false;
  const onInput = (d: Buffer) => {
    if (escaped) return;
    if (!escapes) {
      client.write(d);
      return;
    }
    const { send, disconnect } = escapes.filter(d);
    if (send.length > 0) client.write(send);
    if (disconnect && !escaped) {
      escaped = true;
      client.close();
      // A collector that cannot hear the goodbye (network gone) must not hold the terminal: drop the socket soon.
      setTimeout(() => client.terminate(), 1000).unref();
    }
  };
  stdin.on('data', onInput);
  stdin.resume();
  const onResize = () => client.resize(process.stdout.columns || 80, process.stdout.rows || 24);
  // 'resize' rather than SIGWINCH: Node emits it on every platform (Windows has no SIGWINCH), sizes already updated.
  process.stdout.on('resize', onResize);
  const end = await client.ended;
  process.stdout.off('resize', onResize);
  stdin.off('data', onInput);
  if (raw) stdin.setRawMode(false);
  stdin.pause();
  if (end.exitCode !== null) return end.exitCode;
  // The reason comes from the far side: printed through the sanitiser like any other remote string.
  if (escaped) sayErr`\r\nsession closed from this side (~.)\n`;
  else sayErr`\r\nsession ended: ${end.code ?? ''} ${end.message ?? ''}\n`;
  return 255;
}

/**
 * Node's raw mode leaves output processing on (libuv keeps ONLCR), so the local terminal turned every "\n" of the
 * remote terminal into "\r\n": a full-screen program that moves the cursor down with a line feed (xterm's `cud1`)
 * drew in the wrong column. ssh clears OPOST (cfmakeraw); so does this, with stty on the same terminal (the shell
 * and the replay of its recording). Leaving raw mode (and Node at exit) puts the terminal back as it was.
 */
function rawTerminal(): void {
  process.stdin.setRawMode(true);
  if (process.platform === 'win32') return;
  spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
}

/**
 * Node makes a terminal stdout blocking: while the terminal takes no output (frozen window, XOFF, Scroll Lock) each
 * write would stop the whole process, which then answers no keep-alive ping and the collector ends the session. The
 * output is bounded by the credit window (credit returns once written), so writes can wait in the stream instead,
 * and the remote program is paused meanwhile. The handle's terminal is its own file description (libuv reopens
 * it), so the shell that started the CLI keeps its blocking terminal.
 */
function nonBlocking(stream: NodeJS.WriteStream): void {
  const handle = (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => number } })._handle;
  handle?.setBlocking?.(false);
}

/** Plays asciicast v2 text to a writer, honouring the recorded timing divided by `speed`, until `signal` aborts. */
export async function playCast(
  text: string,
  speed: number,
  write: (s: string) => void,
  maxIdleSec = 2,
  signal?: AbortSignal,
): Promise<number> {
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  let last = 0;
  let events = 0;
  for (const line of lines.slice(1)) {
    const ev = JSON.parse(line) as [number, string, string];
    if (ev[1] !== 'o') continue;
    const wait = Math.min(ev[0] - last, maxIdleSec) / speed;
    last = ev[0];
    if (wait > 0.001) await sleep(wait * 1000, undefined, { signal }).catch(() => undefined);
    if (signal?.aborted) break;
    write(ev[2]);
    events++;
  }
  return events;
}

/**
 * A session's outcome for the table: `live`, `ok`, `refused OUTPOST_E_…`, `failed OUTPOST_E_…`, or `ended (why)`
 * for a session the collector ended (timeout, technician unreachable, collector restarted).
 */
export function sessionOutcome(x: Record<string, unknown>): string {
  if (x.live === true) return 'live';
  const code = typeof x.outcomeCode === 'string' ? x.outcomeCode : '';
  switch (x.outcome) {
    case 'ok':
      return 'ok';
    case 'refused':
    case 'failed':
      return code ? `${x.outcome} ${code}` : x.outcome;
    case 'ended':
      return typeof x.closeReason === 'string' ? `ended (${x.closeReason})` : 'ended';
    default:
      return '-';
  }
}

/** Plays a recording to standard output at `speed`. */
async function replay(text: string, speed: number): Promise<void> {
  // In a terminal, the replay gets the bytes exactly as the session's terminal did (raw output, as in the
  // session), and q or Ctrl-C stops it (raw mode makes Ctrl-C a key).
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const stop = new AbortController();
  const onKey = (d: Buffer) => {
    if (d.includes(0x03) || d.includes(0x71)) stop.abort();
  };
  if (terminal) {
    rawTerminal();
    process.stdin.on('data', onKey).resume();
  }
  try {
    await playCast(text, speed, (s) => process.stdout.write(s), 2, stop.signal);
  } finally {
    if (terminal) {
      process.stdin.off('data', onKey).pause();
      process.stdin.setRawMode(false);
    }
  }
}

/** Registers the shell and sessions commands. */
export function addShellCommands(program: Command): void {
  program
    .command('shell <agent>')
    .description("Open a remote shell on an agent (raw terminal; exits with the remote shell's status).")
    .option('--elevated', 'run as root/SYSTEM (needs the shell.elevated permission)', false)
    .action(async function (this: Command, agent: string, o: { elevated: boolean }) {
      const t = target(this);
      const client = await ShellClient.open(t, agent, {
        cols: process.stdout.columns || 80,
        rows: process.stdout.rows || 24,
        elevated: o.elevated,
        manualCredit: true,
      });
      process.exitCode = await interactive(client);
    });

  const sessions = program.command('sessions').description('Remote shell sessions and their recordings.');
  sessions
    .command('list')
    .description('List recent sessions and file transfers you may see.')
    .option('--agent <id>', 'only this agent')
    .action(async function (this: Command, o: { agent?: string }) {
      const r = await api(target(this), 'GET /api/v1/sessions', { query: { agentId: o.agent } });
      printRows(
        r.sessions,
        [
          { key: 'id', title: 'id' },
          { key: 'kind', title: 'kind' },
          { key: 'agentId', title: 'agent' },
          { key: 'userEmail', title: 'user' },
          { key: 'startedAt', title: 'started', format: (x) => when(x.startedAt) },
          { key: 'endedAt', title: 'ended', format: (x) => (x.live ? 'live' : when(x.endedAt)) },
          { key: 'outcome', title: 'outcome', format: (x) => sessionOutcome(x) },
          { key: 'exitCode', title: 'exit' },
          { key: 'recordingStatus', title: 'recording' },
          { key: 'path', title: 'path' },
        ],
        this.optsWithGlobals<{ json?: boolean }>().json === true,
      );
    });
  sessions
    .command('play <id>')
    .description('Replay a recorded session in this terminal.')
    .option(
      '--speed <n>',
      'playback speed factor',
      numberIn(0, 1000, { exclusiveMin: true, what: 'a speed factor' }),
      1,
    )
    .action(async function (this: Command, id: string, o: { speed: number }) {
      const text = await apiText(target(this), 'GET /api/v1/sessions/:id/recording', { params: { id } });
      await replay(text, o.speed);
    });
  sessions
    .command('join <id>')
    .description('Watch a live session read-only.')
    .action(async function (this: Command, id: string) {
      const client = await ShellClient.open(target(this), '', { joinSessionId: id });
      // A watcher has no credit to withhold: it stops reading its socket while its output backs up, and the
      // collector drops a watcher that falls a megabyte behind (nothing piles up in this process).
      client.onData((d) => {
        if (process.stdout.write(d) || client.ws.isPaused) return;
        client.ws.pause();
        process.stdout.once('drain', () => client.ws.resume());
      });
      const end = await client.ended;
      process.exitCode = end.exitCode ?? 0;
    });
}
