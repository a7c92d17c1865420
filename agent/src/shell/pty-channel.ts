/**
 * One remote shell session on the agent: a real PTY, its output sent under the collector's credit (the PTY is
 * paused while credit is exhausted), input written as it arrives, and the whole process tree killed on close.
 */

import { type IPty, spawn } from '@lydell/node-pty';
import { type ChannelFrame, CreditSender, encodeCredit, FrameKind, readCredit, type ShellOpen } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Session } from '../connection/index.js';
import { EchoProbe } from './echo.js';
import type { Channel } from './hub.js';
import { hangUpSession, killSessionTree } from './process-tree.js';
import type { ShellUser } from './user.js';

/** Input credit is returned at once past this many bytes (a paste), else after 10 ms. */
const INPUT_CREDIT_BATCH = 16 * 1024;
/** A state read this long after the last output is taken as settled (not a transition). */
const SETTLED_MS = 10;
/** How long the exit report waits for input still being settled. */
const SETTLE_AT_EXIT_MS = 2000;
/** The echo state is read again once output has been quiet this long (a prompt was printed). */
const QUIET_PROBE_MS = 25;

/** Input written to the PTY whose echo state is not settled yet (`secret` once its probe answered). */
interface InputSpan {
  from: number;
  to: number;
  secret?: boolean;
}

/** How to start the shell. */
export interface ShellCommand {
  file: string;
  args: string[];
  cwd: string;
}

/** What PtyChannel is built from (one options object, not positional arguments). */
export interface PtyChannelInit {
  session: Session;
  open: ShellOpen;
  user: ShellUser;
  command: ShellCommand;
  logger: Logger;
  onGone: () => void;
}

/** A PTY bound to one channel. */
export class PtyChannel implements Channel {
  readonly pty: IPty;
  readonly #sender: CreditSender;
  #closed = false;
  #creditTimer: NodeJS.Timeout | undefined;
  /**
   * Input accounting, in bytes since the session opened: written to the PTY, settled (its echo state known and any
   * `shell.noecho` sent), and credited back. Credit never passes what is settled, so the collector, which records
   * input once credited, learns of no-echo input before it writes it (docs/0007-shell.md, "Recording").
   */
  #written = 0;
  #settled = 0;
  #credited = 0;
  readonly #unsettled: InputSpan[] = [];
  /** The settlements under way (awaited before the exit is reported). */
  readonly #settling = new Set<Promise<void>>();
  readonly #echo: EchoProbe;
  #lastOutputAt = Number.NEGATIVE_INFINITY;
  #quietTimer: NodeJS.Timeout | undefined;
  readonly sessionId: string;

  private readonly session: Session;
  private readonly open: ShellOpen;
  private readonly logger: Logger;
  private readonly onGone: () => void;
  constructor(init: PtyChannelInit) {
    const { session, open, user, command, logger, onGone } = init;
    this.session = session;
    this.open = open;
    this.logger = logger;
    this.onGone = onGone;
    this.sessionId = open.sessionId;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      TERM: 'xterm-256color',
      LANG: process.env.LANG ?? 'C.UTF-8',
      HOME: user.home,
      USER: user.name,
      LOGNAME: user.name,
      SHELL: command.file,
      OUTPOST_SESSION: open.sessionId,
    };
    if (process.platform === 'win32') Object.assign(env, process.env);
    this.pty = spawn(command.file, command.args, {
      name: 'xterm-256color',
      cols: open.cols,
      rows: open.rows,
      cwd: command.cwd,
      env,
      encoding: null,
      ...(user.uid !== undefined ? { uid: user.uid, gid: user.gid } : {}),
    });
    this.#sender = new CreditSender(open.channel, (f) => session.sendFrame(f), {
      pause: () => this.pty.pause(),
      resume: () => this.pty.resume(),
    });
    this.#echo = new EchoProbe((this.pty as unknown as { fd?: number }).fd);
    this.pty.onData((d) => {
      this.#sender.write(d as unknown as Buffer);
      this.#outputSeen();
    });
    // A failure to flush or report the exit (the socket gone) is logged: it must never become an unhandled rejection.
    this.pty.onExit(({ exitCode, signal }) => {
      this.#exited(exitCode, signal ?? 0).catch((err: unknown) =>
        this.logger.error({ err, sessionId: this.open.sessionId }, 'could not report the shell exit'),
      );
    });
  }

  get pid(): number {
    return this.pty.pid;
  }

  onFrame(frame: ChannelFrame): void {
    if (this.#closed) return;
    switch (frame.kind) {
      case FrameKind.Data:
        if (frame.payload.byteLength === 0) return;
        this.#input(frame.payload);
        return;
      case FrameKind.Credit: {
        const n = readCredit(frame.payload);
        if (n !== undefined) this.#sender.grant(n);
        return;
      }
      case FrameKind.End:
        return;
    }
  }

  /**
   * Writes input to the PTY at once (a keystroke never waits for a probe), then settles its echo state: no-echo if
   * the terminal was at a password prompt before the write (the probe running, else the last one, if no output
   * came since it started) or after it (a probe started after it),
   * unless the input ends with Enter and only the probe after it saw the prompt (the command line that opened it).
   */
  #input(payload: Uint8Array): void {
    const span: InputSpan = { from: this.#written, to: this.#written + payload.byteLength };
    const before = this.#echo.before();
    const outputAt = this.#lastOutputAt;
    this.pty.write(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) as unknown as string);
    this.#written = span.to;
    this.#unsettled.push(span);
    if (this.#echo.broken) {
      span.secret = false;
      this.#settle();
      return;
    }
    // A line ending with Enter may itself start the prompt (`sudo …⏎`): seen only after it, the prompt is not its.
    const last = payload[payload.byteLength - 1];
    const entered = last === 0x0d || last === 0x0a;
    const settling = Promise.all([before, this.#echo.probe()]).then(async ([was, after]) => {
      // A prompt that does not echo prints nothing while it is answered, so the state before the write counts only
      // if it was read once output had settled: output since means the prompt may have been answered and another
      // printed, and a state read right after output can be a transition (seen: canonical without echo for a moment
      // as a command ends and the shell takes the terminal back). Then only the probe after the write counts.
      const current = was.at - outputAt >= SETTLED_MS;
      // A prompt stays; a transition does not: a no-echo reading after the write is confirmed by the next probe.
      span.secret = (current && was.secret) || (after === true && !entered && (await this.#echo.probe()) === true);
      this.#settle();
    });
    this.#settling.add(settling);
    void settling.finally(() => this.#settling.delete(settling));
  }

  /** Reports settled input in order (a `shell.noecho` per run of no-echo input), then schedules its credit. */
  #settle(): void {
    let secretFrom: number | undefined;
    const flushSecret = (to: number) => {
      if (secretFrom === undefined || this.#closed) return;
      this.session.send({
        type: 'shell.noecho',
        channel: this.open.channel,
        sessionId: this.open.sessionId,
        from: secretFrom,
        to,
      });
      secretFrom = undefined;
    };
    let last = this.#settled;
    while (this.#unsettled[0]?.secret !== undefined) {
      const span = this.#unsettled.shift()!;
      if (span.secret) secretFrom ??= span.from;
      else flushSecret(span.from);
      last = span.to;
    }
    flushSecret(last);
    if (last === this.#settled) return;
    this.#settled = last;
    this.#creditInput();
  }

  /**
   * Input credit goes back in batches: a Credit frame per keystroke would travel just ahead of the keystroke's
   * echo and delay it at every hop. The 64 KiB input window leaves ample room for a 10 ms wait.
   */
  #creditInput(): void {
    if (this.#settled - this.#credited >= INPUT_CREDIT_BATCH) this.#flushCredit();
    else this.#creditTimer ??= setTimeout(() => this.#flushCredit(), 10);
  }

  #flushCredit(): void {
    clearTimeout(this.#creditTimer);
    this.#creditTimer = undefined;
    const k = this.#settled - this.#credited;
    this.#credited = this.#settled;
    if (k > 0 && !this.#closed) this.session.sendFrame(encodeCredit(this.open.channel, k));
  }

  /**
   * Output went by: once it has been quiet for QUIET_PROBE_MS, the echo state is read again (a password prompt is
   * printed around the change, and a secret pasted in one frame must find the state already known; a prompt printed
   * right after the Enter that started it comes within a millisecond, so a keystroke's echo is not told apart). Not
   * during bulk output (never quiet). Typing thus costs about two `stty` runs per keystroke.
   */
  #outputSeen(): void {
    if (this.#echo.broken) return;
    const now = performance.now();
    this.#lastOutputAt = now;
    if (this.#quietTimer) return;
    const check = () => {
      const idle = performance.now() - this.#lastOutputAt;
      if (idle < QUIET_PROBE_MS) {
        this.#quietTimer = setTimeout(check, QUIET_PROBE_MS - idle);
        return;
      }
      this.#quietTimer = undefined;
      if (!this.#closed) void this.#echo.probe();
    };
    this.#quietTimer = setTimeout(check, QUIET_PROBE_MS);
  }

  resize(cols: number, rows: number): void {
    if (!this.#closed) this.pty.resize(cols, rows);
  }

  async #exited(exitCode: number, signal: number): Promise<void> {
    if (this.#closed) return;
    await this.#sender.end();
    // Input still waiting for its probe is settled and credited before the exit, so the collector records it (or
    // its marker) instead of dropping it as unknown.
    // Bounded: a probe that hangs must not hold the exit back (unsettled input is then hidden by the collector).
    if (this.#settling.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.#settling]),
        new Promise((r) => {
          timer = setTimeout(r, SETTLE_AT_EXIT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#flushCredit();
    this.#closed = true;
    clearTimeout(this.#creditTimer);
    clearTimeout(this.#quietTimer);
    this.#killTree();
    this.session.send({
      type: 'shell.exit',
      channel: this.open.channel,
      sessionId: this.open.sessionId,
      exitCode,
      signal,
    });
    this.logger.info({ sessionId: this.open.sessionId, exitCode, signal }, 'shell session exited');
    this.onGone();
  }

  #killTree(): void {
    const killed = killSessionTree(this.pty.pid, 'SIGHUP', `OUTPOST_SESSION=${this.open.sessionId}`);
    if (killed > 0) this.logger.info({ sessionId: this.open.sessionId, killed }, 'killed the session process tree');
  }

  /**
   * Ends the session. `kill` (the technician left, the collector went away): the whole tree, jobs that left the
   * session included. `hangup` (the agent is stopping): what a closed terminal does, so `nohup`/`setsid` jobs
   * survive a restart (process-tree.ts, hangUpSession).
   */
  close(reason: string, how: 'kill' | 'hangup' = 'kill'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#creditTimer);
    clearTimeout(this.#quietTimer);
    this.#sender.abort();
    this.logger.info({ sessionId: this.open.sessionId, reason, how }, 'closing shell session');
    if (how === 'hangup') {
      const signalled = hangUpSession(this.pty.pid);
      this.logger.info(
        { sessionId: this.open.sessionId, signalled },
        'hung up the session (nohup and setsid jobs stay)',
      );
    } else this.#killTree();
    try {
      this.pty.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    this.onGone();
  }
}
