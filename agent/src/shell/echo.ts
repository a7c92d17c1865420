/**
 * Whether a session's terminal is at a password prompt: canonical mode with ECHO off, which is what `sudo`,
 * `passwd`, `ssh`'s own prompt, `read -s` and getpass() set while a secret is typed. Raw-mode programs (bash's
 * readline, vim, less) clear ECHO too but echo by themselves, so ECHO alone would hide every command typed at a
 * shell prompt; canonical mode is what tells them apart.
 *
 * Node cannot call tcgetattr, and node-pty does not expose the termios, so the state is read by `stty -g` with the
 * PTY's master descriptor as its standard input (on Linux, TCGETS on a master answers the slave's termios): a
 * process per probe (a few ms), so probes run in the background — never in front of a keystroke — one at a time,
 * after input is written and when output goes quiet (prompts are printed around the change), never during bulk
 * output. Linux only: elsewhere `probe` answers undefined and input is recorded as typed (docs/0007-shell.md).
 */
import { spawn } from 'node:child_process';

/** Linux `c_lflag` bits (asm-generic/termbits.h). */
const ICANON = 0o2;
const ECHO = 0o10;

/** True when `stty -g` output (Linux: hex iflag:oflag:cflag:lflag:…) says canonical mode without echo. */
export function secretFromStty(out: string): boolean | undefined {
  const lflag = Number.parseInt(out.trim().split(':')[3] ?? '', 16);
  if (!Number.isFinite(lflag)) return undefined;
  return (lflag & ICANON) !== 0 && (lflag & ECHO) === 0;
}

/** Reads a PTY's echo state, one probe at a time. */
export class EchoProbe {
  /** The last state read (false until one is). */
  secret = false;
  /** When the probe that read `secret` started (performance.now()). */
  secretAt = Number.NEGATIVE_INFINITY;
  #runningAt = Number.NEGATIVE_INFINITY;
  /** Set once a probe failed (no `stty`, closed descriptor): probing stops. */
  broken: Error | undefined;
  #running: Promise<boolean | undefined> | undefined;
  #next: Promise<boolean | undefined> | undefined;

  constructor(private readonly fd: number | undefined) {
    if (process.platform !== 'linux' || fd === undefined)
      this.broken = new Error('echo state unknown on this platform');
  }

  /**
   * Reads the state as it is now or a little later: a probe that starts after this call (the one running may have
   * read the termios before the caller's write reached the terminal). Resolves undefined when it cannot be read.
   */
  probe(): Promise<boolean | undefined> {
    if (this.broken) return Promise.resolve(undefined);
    if (this.#next) return this.#next;
    const start = () => {
      const at = performance.now();
      const p = this.#run(at);
      this.#running = p;
      this.#runningAt = at;
      void p.finally(() => {
        if (this.#running === p) this.#running = undefined;
      });
      return p;
    };
    if (!this.#running) return start();
    const next = this.#running.then(() => {
      this.#next = undefined;
      return start();
    });
    this.#next = next;
    return next;
  }

  /**
   * The state before now, with when it was read: the probe running (it started before this call and is newer than
   * `secret`), else the last state read. The caller judges whether it is still current.
   */
  before(): Promise<{ secret: boolean; at: number }> {
    const known = { secret: this.secret, at: this.secretAt };
    const running = this.#running;
    if (!running) return Promise.resolve(known);
    const at = this.#runningAt;
    return running.then((v) => (v === undefined ? known : { secret: v, at }));
  }

  #run(at: number): Promise<boolean | undefined> {
    if (this.broken || this.fd === undefined) return Promise.resolve(undefined);
    const fd = this.fd;
    return new Promise((resolve) => {
      let out = '';
      const done = (v: boolean | undefined, err?: Error) => {
        if (err) this.broken ??= err;
        if (v !== undefined && at >= this.secretAt) {
          this.secret = v;
          this.secretAt = at;
        }
        resolve(v);
      };
      try {
        const child = spawn('stty', ['-g'], { stdio: [fd, 'pipe', 'ignore'] });
        child.stdout?.setEncoding('utf8').on('data', (d: string) => {
          out += d;
        });
        child.once('error', (err) => done(undefined, err));
        child.once('close', (code) => {
          const v = code === 0 ? secretFromStty(out) : undefined;
          // A failure once the PTY is gone is expected; before that, it means probing cannot work here.
          done(v, v === undefined ? new Error(`stty -g exited with ${code}: ${out.slice(0, 100)}`) : undefined);
        });
      } catch (err) {
        done(undefined, err as Error);
      }
    });
  }
}
