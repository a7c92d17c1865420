/**
 * The update's durable files, all written atomically (temp file, fsync, rename, fsync of the directory) so a
 * power cut or SIGKILL leaves either the old or the new content, never half of one.
 *   <stateDir>/update/marker.json   an update in flight: from, to, deadline, starts, health (the watcher's input)
 *   <stateDir>/update/outcome.json  how the last update ended, until it is reported to the collector
 *   <stateDir>/update/highest.json  the highest version that ever completed an authenticated hello here
 *   <stateDir>/update/tuf/          the TUF client's trusted metadata (root chain, last timestamp/snapshot/targets)
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compareReleaseVersions } from '@outpost/shared';

/** Paths of the update's state. */
export function updateStatePaths(stateDir: string) {
  const dir = join(stateDir, 'update');
  return {
    dir,
    marker: join(dir, 'marker.json'),
    outcome: join(dir, 'outcome.json'),
    highest: join(dir, 'highest.json'),
    handled: join(dir, 'assignments.json'),
    tuf: join(dir, 'tuf'),
    downloads: join(dir, 'downloads'),
  };
}

/** An update in flight, written before the pointer flips. */
export interface UpdateMarker {
  from: string;
  to: string;
  assignmentId?: string | undefined;
  /** The install root whose pointer flipped. */
  installRoot: string;
  /** When the watcher gives up on the new version (epoch ms). */
  deadline: number;
  /** Starts of the new version so far (each start adds one); more than `maxStarts` is a restart loop. */
  starts: number;
  maxStarts: number;
  /** Set by the new version after its first authenticated hello. */
  healthyAt?: number | undefined;
  /** The watcher's pid, so a new start can tell whether one is still watching. */
  watcherPid?: number | undefined;
  /** The pid of the new version's latest start, so the watcher can stop a hung one. */
  agentPid?: number | undefined;
}

/** How an update ended. */
export interface UpdateOutcome {
  from: string;
  to: string;
  assignmentId?: string | undefined;
  result: 'healthy' | 'rolled_back';
  code?: string | undefined;
  reason?: string | undefined;
  at: number;
}

/** Writes JSON durably: temp file, fsync, rename over, fsync of the directory. */
export function writeJsonDurably(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  syncDir(dirname(file));
}

/** fsync of a directory, so a rename in it survives a power cut (not possible on Windows; skipped there). */
export function syncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads a JSON file, or undefined when it is missing or unreadable (a torn file cannot exist: writes are atomic). */
export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    // Missing (the common case) or not JSON: both mean "no record" to every caller here.
    return undefined;
  }
}

export const readMarker = (stateDir: string) => readJson<UpdateMarker>(updateStatePaths(stateDir).marker);
export const writeMarker = (stateDir: string, m: UpdateMarker) =>
  writeJsonDurably(updateStatePaths(stateDir).marker, m);
export const clearMarker = (stateDir: string) => rmSync(updateStatePaths(stateDir).marker, { force: true });
export const readOutcome = (stateDir: string) => readJson<UpdateOutcome>(updateStatePaths(stateDir).outcome);
export const writeOutcome = (stateDir: string, o: UpdateOutcome) =>
  writeJsonDurably(updateStatePaths(stateDir).outcome, o);
export const clearOutcome = (stateDir: string) => rmSync(updateStatePaths(stateDir).outcome, { force: true });

/** The highest version that ever completed an authenticated hello on this machine, if any. */
export function readHighest(stateDir: string): string | undefined {
  return readJson<{ version: string }>(updateStatePaths(stateDir).highest)?.version;
}

/** Raises the highest version run (never lowers it). */
export function recordRun(stateDir: string, version: string): void {
  const prev = readHighest(stateDir);
  if (prev !== undefined && compareReleaseVersions(prev, version) >= 0) return;
  writeJsonDurably(updateStatePaths(stateDir).highest, { version, at: Date.now() });
}

/**
 * Assignment ids already acted on, kept across restarts: the collector resends an agent's latest assignment at every
 * connection, and a version that was just rolled back must not be installed again by the same assignment.
 */
export function wasHandled(stateDir: string, id: string): boolean {
  return (readJson<string[]>(updateStatePaths(stateDir).handled) ?? []).includes(id);
}

/** Records an assignment id as acted on (the last 50 are kept). */
export function markHandled(stateDir: string, id: string): void {
  const ids = (readJson<string[]>(updateStatePaths(stateDir).handled) ?? []).filter((x) => x !== id);
  writeJsonDurably(updateStatePaths(stateDir).handled, [...ids, id].slice(-50));
}
