/**
 * The swap: write the marker (fsync), flip the pointer atomically, and start the old, known-good executable as a
 * detached watcher (`outpost-agent update-watch`) that rolls back if the new one never becomes healthy. The caller
 * then restarts the agent through its service manager by exiting with UPDATE_RESTART_EXIT_CODE.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { flipPointer, versionExecutable } from './layout.js';
import { type UpdateMarker, updateStatePaths, writeMarker } from './state.js';

/**
 * The exit code that asks the service manager for a restart into the new version: 75 (EX_TEMPFAIL). The systemd
 * unit restarts on it (`Restart=always`, or `RestartForceExitStatus=75` with `Restart=on-failure`).
 */
export const UPDATE_RESTART_EXIT_CODE = 75;

/** Defaults of the health gate (greenboot and Elastic numbers; docs/0011-releases.md). */
export const DEFAULT_HEALTH_DEADLINE_MS = 120_000;
export const DEFAULT_MAX_STARTS = 3;

/** The command that runs a given executable of this agent: the executable itself, or Node plus the CLI script. */
export function agentCommand(executable: string | undefined): string[] {
  if (executable && existsSync(executable)) return [executable];
  // Not from an install layout (a checkout): this very process's way of starting.
  const script = process.argv[1];
  return script && script !== process.execPath ? [process.execPath, ...process.execArgv, script] : [process.execPath];
}

/** Starts the watcher detached from this process (it must outlive the restart), logging to update/watcher.log. */
export function spawnWatcher(stateDir: string, command: string[]): number | undefined {
  const paths = updateStatePaths(stateDir);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const log = openSync(join(paths.dir, 'watcher.log'), 'a', 0o600);
  const [file, ...args] = command;
  const child = spawn(file!, [...args, 'update-watch', '--state-dir', stateDir], {
    detached: true,
    stdio: ['ignore', log, log],
    windowsHide: true,
  });
  child.unref();
  return child.pid;
}

/** Writes the marker, flips the pointer, starts the watcher from the `from` version. */
export function swapTo(opts: {
  stateDir: string;
  root: string;
  platform: string;
  from: string;
  to: string;
  assignmentId?: string | undefined;
  healthDeadlineMs: number;
  maxStarts: number;
  now?: number;
}): UpdateMarker {
  const marker: UpdateMarker = {
    from: opts.from,
    to: opts.to,
    assignmentId: opts.assignmentId,
    installRoot: opts.root,
    deadline: (opts.now ?? Date.now()) + opts.healthDeadlineMs,
    starts: 0,
    maxStarts: opts.maxStarts,
  };
  // Marker first: a crash after it and before the flip is found and cleared at the next start (still on `from`).
  writeMarker(opts.stateDir, marker);
  flipPointer(opts.root, opts.to);
  const pid = spawnWatcher(opts.stateDir, agentCommand(versionExecutable(opts.root, opts.from, opts.platform)));
  const withPid = { ...marker, watcherPid: pid };
  writeMarker(opts.stateDir, withPid);
  return withPid;
}
