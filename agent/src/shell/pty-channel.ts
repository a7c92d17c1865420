/**
 * One remote shell session on the agent: a real PTY, its output sent under the collector's credit (the PTY is
 * paused while credit is exhausted), input written as it arrives, and the whole process tree killed on close.
 */

import { type IPty, spawn } from '@lydell/node-pty';
import { type ChannelFrame, CreditSender, encodeCredit, FrameKind, readCredit, type ShellOpen } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Session } from '../connection/index.js';
import type { Channel } from './hub.js';
import { killSessionTree } from './process-tree.js';
import type { ShellUser } from './user.js';

/** Input credit is returned at once past this many bytes (a paste), else after 10 ms. */
const INPUT_CREDIT_BATCH = 16 * 1024;

/** How to start the shell. */
export interface ShellCommand {
  file: string;
  args: string[];
  cwd: string;
}

/** A PTY bound to one channel. */
export class PtyChannel implements Channel {
  readonly pty: IPty;
  readonly #sender: CreditSender;
  #closed = false;
  /** Input bytes written to the PTY and not yet credited back to the collector. */
  #inputToCredit = 0;
  #creditTimer: NodeJS.Timeout | undefined;
  readonly sessionId: string;

  constructor(
    private readonly session: Session,
    private readonly open: ShellOpen,
    user: ShellUser,
    command: ShellCommand,
    private readonly logger: Logger,
    private readonly onGone: () => void,
  ) {
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
    this.pty.onData((d) => this.#sender.write(d as unknown as Buffer));
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
        this.pty.write(
          Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength) as unknown as string,
        );
        this.#creditInput(frame.payload.byteLength);
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
   * Input credit goes back in batches: a Credit frame per keystroke would travel just ahead of the keystroke's
   * echo and delay it at every hop. The 64 KiB input window leaves ample room for a 10 ms wait.
   */
  #creditInput(n: number): void {
    this.#inputToCredit += n;
    const flush = () => {
      clearTimeout(this.#creditTimer);
      this.#creditTimer = undefined;
      const k = this.#inputToCredit;
      this.#inputToCredit = 0;
      if (k > 0 && !this.#closed) this.session.sendFrame(encodeCredit(this.open.channel, k));
    };
    if (this.#inputToCredit >= INPUT_CREDIT_BATCH) flush();
    else this.#creditTimer ??= setTimeout(flush, 10);
  }

  resize(cols: number, rows: number): void {
    if (!this.#closed) this.pty.resize(cols, rows);
  }

  async #exited(exitCode: number, signal: number): Promise<void> {
    if (this.#closed) return;
    await this.#sender.end();
    this.#closed = true;
    clearTimeout(this.#creditTimer);
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

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#creditTimer);
    this.#sender.abort();
    this.logger.info({ sessionId: this.open.sessionId, reason }, 'closing shell session');
    this.#killTree();
    try {
      this.pty.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    this.onGone();
  }
}
