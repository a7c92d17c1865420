/**
 * A program in a real local terminal (a PTY from the agent's own PTY library), as a technician runs `outpost shell`
 * or `ssh` in a terminal window: the program sees a TTY on stdin and stdout, can put it in raw mode, and gets
 * SIGWINCH when the window is resized.
 */
import { spawn as spawnPty } from '@lydell/node-pty';

/** A running program in a terminal: type into it, read what it shows, resize its window. */
export interface Terminal {
  readonly pid: number;
  /** Types `data` (a Buffer goes to the terminal as its bytes). */
  write(data: string | Buffer): void;
  onData(fn: (d: Buffer) => void): void;
  resize(cols: number, rows: number): void;
  /** Stops reading the terminal (a frozen window): the program's writes back up. */
  pause(): void;
  resume(): void;
  /** Resolves with the exit code once the program has exited. */
  readonly exited: Promise<number>;
  kill(signal?: string): void;
}

/** Starts `file args` in a new terminal of `cols`×`rows`. */
export function spawnInTerminal(
  file: string,
  args: string[],
  options: { cols?: number; rows?: number; env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {},
): Terminal {
  const env = Object.fromEntries(
    Object.entries(options.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const term = spawnPty(file, args, {
    name: 'xterm',
    cols: options.cols ?? 80,
    rows: options.rows ?? 24,
    env,
    // Bytes, not strings: a UTF-8 character split across reads must reach the reader whole.
    encoding: null,
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
  });
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  return {
    pid: term.pid,
    // node-pty declares strings only, but hands a Buffer to its socket's write as the bytes it holds.
    write: (data) => term.write(data as string),
    onData: (fn) => term.onData((d) => fn(d as unknown as Buffer)),
    resize: (cols, rows) => term.resize(cols, rows),
    pause: () => term.pause(),
    resume: () => term.resume(),
    exited,
    kill: (signal) => term.kill(signal),
  };
}
