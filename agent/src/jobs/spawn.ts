/**
 * Runs one command of a job: its own process group (so a timeout kills the whole tree, not just the shell), stdout
 * and stderr into one bounded capture, a deadline after which the group gets SIGTERM then SIGKILL.
 */
import { spawn } from 'node:child_process';
import type { BoundedOutput } from './output.js';
import type { Step } from './plans.js';

/** How a command ended. */
export interface StepResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The job was cancelled while this command ran (its group was killed). */
  cancelled: boolean;
  /** The command could not start (not found, not executable). */
  spawnError: string | null;
}

/** Grace between SIGTERM and SIGKILL of a timed-out group. */
export const KILL_GRACE_MS = 3000;

/** Kills the process group led by `pid` (the whole tree on Windows). */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    if (process.platform === 'win32') spawn('taskkill', ['/T', '/F', '/PID', String(pid)], { windowsHide: true });
    else process.kill(-pid, signal);
  } catch (err) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Runs `step` until it exits, `deadline` (epoch ms) passes or `cancel` aborts. */
export function runStep(
  step: Step,
  output: BoundedOutput,
  deadline: number,
  cwd: string,
  cancel?: AbortSignal,
): Promise<StepResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    let cancelled = false;
    let settled = false;
    const finish = (r: Omit<StepResult, 'cancelled'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killer);
      cancel?.removeEventListener('abort', onCancel);
      resolve({ ...r, cancelled });
    };
    let killer: NodeJS.Timeout | undefined;
    const child = spawn(step.cmd, step.args, {
      cwd,
      env: { ...process.env, ...step.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: the agent kills the tree at the deadline; on Windows no console window.
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    const stop = () => {
      if (child.pid === undefined || killer) return;
      killGroup(child.pid, 'SIGTERM');
      killer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(
      () => {
        timedOut = true;
        stop();
      },
      Math.max(0, deadline - Date.now()),
    );
    const onCancel = () => {
      cancelled = true;
      stop();
    };
    if (cancel?.aborted) onCancel();
    else cancel?.addEventListener('abort', onCancel, { once: true });
    child.stdout.on('data', (b: Buffer) => output.write(b));
    child.stderr.on('data', (b: Buffer) => output.write(b));
    child.on('error', (err) => finish({ exitCode: null, signal: null, timedOut: false, spawnError: err.message }));
    child.on('exit', (code, signal) => {
      // A grandchild may keep the pipes open after the command exited: read what is there, then stop waiting.
      const done = () => finish({ exitCode: code, signal, timedOut, spawnError: null });
      if (child.stdout.readableEnded && child.stderr.readableEnded) return done();
      let ended = 0;
      const onEnd = () => ++ended === 2 && done();
      child.stdout.once('end', onEnd);
      child.stderr.once('end', onEnd);
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done();
      }, 1000).unref();
    });
  });
}
