/** The update component's start-up judgement of an update left in flight (no executables needed). */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../config/index.js';
import type { AgentContext } from '../runtime/commands.js';
import { systemClock } from '../time.js';
import { AGENT_VERSION } from '../version.js';
import { UpdateComponent } from './component.js';
import { currentVersion, flipPointer, versionDir } from './layout.js';
import { readMarker, readOutcome, writeMarker } from './state.js';

let root: string;
let state: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'outpost-root-'));
  state = mkdtempSync(join(tmpdir(), 'outpost-state-'));
  for (const v of [AGENT_VERSION, '99.0.0']) mkdirSync(versionDir(root, v), { recursive: true });
  flipPointer(root, AGENT_VERSION);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

const ctx = (): AgentContext => ({
  config: { stateDir: state } as AgentConfig,
  logger: pino({ level: 'silent' }),
  clock: systemClock,
  report: async () => 0,
});

describe('an update found in flight at start', () => {
  it('on the old version with no watcher (SIGKILL before the flip): judged interrupted, reported, cleared', () => {
    writeMarker(state, {
      from: AGENT_VERSION,
      to: '99.0.0',
      assignmentId: 'as1',
      installRoot: root,
      deadline: Date.now() + 60_000,
      starts: 0,
      maxStarts: 3,
    });
    new UpdateComponent().start(ctx());
    expect(readMarker(state)).toBeUndefined();
    expect(readOutcome(state)).toMatchObject({
      from: AGENT_VERSION,
      to: '99.0.0',
      assignmentId: 'as1',
      result: 'rolled_back',
      code: 'OUTPOST_E_UPDATE_ROLLED_BACK',
    });
    expect(readOutcome(state)?.reason).toMatch(/interrupted/);
    expect(currentVersion(root)).toBe(AGENT_VERSION);
  });

  it('on the old version while a watcher is alive: left to the watcher', () => {
    writeMarker(state, {
      from: AGENT_VERSION,
      to: '99.0.0',
      installRoot: root,
      deadline: Date.now() + 60_000,
      starts: 0,
      maxStarts: 3,
      watcherPid: process.pid,
    });
    new UpdateComponent().start(ctx());
    expect(readMarker(state)?.to).toBe('99.0.0');
    expect(readOutcome(state)).toBeUndefined();
  });
});
