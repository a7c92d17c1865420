/**
 * A long-lived helper process fed one line per request: it answers with text followed by an end-mark line.
 * Used for the Windows sampler's PowerShell (see win32.ts for why it stays up). The process is started on the first
 * request and again on the next request after it died or a request timed out (then it is killed: a hung CIM
 * query must not leave requests queued behind it). Output is bounded so a runaway helper cannot fill memory.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { OutpostError } from '@outpost/shared';

/** How the helper is started and how long one answer may take. */
export interface ResidentShellOptions {
  cmd: string;
  args: string[];
  endMark: string;
  timeoutMs: number;
  /** Largest answer kept (bytes); more ends the request with an error. */
  maxBytes?: number;
}

interface Pending {
  resolve: (text: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** One helper process; requests are answered one at a time, in order. */
export class ResidentShell {
  readonly #opts: Required<ResidentShellOptions>;
  #child: ChildProcessWithoutNullStreams | undefined;
  #buf = '';
  #pending: Pending | undefined;
  #stopped = false;

  constructor(opts: ResidentShellOptions) {
    this.#opts = { maxBytes: 16 * 1024 * 1024, ...opts };
  }

  /** The helper's pid while it runs (tests use it to check it is ended). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Sends one line and resolves with what the helper printed before the end mark. */
  request(): Promise<string> {
    if (this.#stopped) return Promise.reject(failure('the metrics helper was stopped'));
    if (this.#pending) return Promise.reject(failure('a metrics request is still running'));
    const child = this.#ensure();
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(failure(`no answer within ${this.#opts.timeoutMs} ms; the helper is restarted next round`));
        this.#kill();
      }, this.#opts.timeoutMs);
      timer.unref?.();
      this.#pending = { resolve, reject, timer };
      child.stdin.write('sample\n', (err) => {
        if (err) this.#fail(failure(`could not write to the helper: ${err.message}`));
      });
    });
  }

  /** Ends the helper (closing stdin lets it leave its loop; the kill covers one that does not). */
  stop(): void {
    this.#stopped = true;
    this.#fail(failure('the metrics helper was stopped'));
    this.#kill();
  }

  #ensure(): ChildProcessWithoutNullStreams {
    if (this.#child) return this.#child;
    const child = spawn(this.#opts.cmd, this.#opts.args, { stdio: 'pipe', windowsHide: true });
    this.#child = child;
    this.#buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.#data(chunk));
    child.stderr.resume(); // PowerShell writes progress and warnings there; nobody reads them
    child.stdin.on('error', () => {
      // EPIPE after the helper died: the 'exit'/'error' handlers report it
    });
    child.on('error', (err) => {
      if (this.#child === child) this.#child = undefined;
      this.#fail(failure(`could not start ${this.#opts.cmd}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      this.#fail(failure(`${this.#opts.cmd} exited (${signal ?? `code ${code}`}); it is restarted next round`));
    });
    return child;
  }

  #data(chunk: string): void {
    this.#buf += chunk;
    const mark = this.#buf.indexOf(`${this.#opts.endMark}`);
    if (mark >= 0) {
      const text = this.#buf.slice(0, mark);
      this.#buf = this.#buf.slice(mark + this.#opts.endMark.length).replace(/^\r?\n/, '');
      const p = this.#pending;
      this.#pending = undefined;
      if (p) {
        clearTimeout(p.timer);
        p.resolve(text);
      }
      return;
    }
    if (this.#buf.length > this.#opts.maxBytes) {
      this.#fail(failure(`the helper printed more than ${this.#opts.maxBytes} bytes without an end mark`));
      this.#kill();
    }
  }

  #fail(err: Error): void {
    const p = this.#pending;
    this.#pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  #kill(): void {
    const child = this.#child;
    this.#child = undefined;
    this.#buf = '';
    if (!child) return;
    child.stdin.end();
    child.kill();
  }
}

function failure(message: string): Error {
  return new OutpostError('OUTPOST_E_METRICS_SOURCE', { message });
}
