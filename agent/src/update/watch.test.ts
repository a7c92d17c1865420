/** The pointer, the marker and the watcher on a temp install root (the real executables: test/package/update.test.ts). */
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentVersion, flipPointer, pruneVersions, versionDir } from './layout.js';
import { readMarker, readOutcome, writeMarker } from './state.js';
import { watchUpdate } from './watch.js';

let root: string;
let state: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'outpost-root-'));
  state = mkdtempSync(join(tmpdir(), 'outpost-state-'));
  for (const v of ['0.1.0', '0.2.0']) {
    mkdirSync(versionDir(root, v), { recursive: true });
    writeFileSync(join(versionDir(root, v), 'outpost-agent'), v);
  }
  flipPointer(root, '0.1.0');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

const marker = (extra: object = {}) => ({
  from: '0.1.0',
  to: '0.2.0',
  assignmentId: 'as1',
  installRoot: root,
  deadline: Date.now() + 300,
  starts: 1,
  maxStarts: 3,
  ...extra,
});

describe('the pointer', () => {
  it('is a relative symlink swapped in one rename, never absent', () => {
    flipPointer(root, '0.2.0');
    expect(readlinkSync(join(root, 'current'))).toBe(join('versions', '0.2.0'));
    expect(currentVersion(root)).toBe('0.2.0');
    expect(() => flipPointer(root, '9.9.9')).toThrow(/does not exist/);
    expect(currentVersion(root)).toBe('0.2.0');
  });

  it('prunes to three versions, never a protected one, and removes staging leftovers', () => {
    for (const v of ['0.0.1', '0.0.2', '0.3.0']) mkdirSync(versionDir(root, v), { recursive: true });
    mkdirSync(`${versionDir(root, '0.4.0')}.partial`, { recursive: true });
    flipPointer(root, '0.0.2');
    // Newest three are 0.3.0, 0.2.0, 0.1.0; 0.0.1 is protected by the caller, 0.0.2 by the pointer.
    expect(pruneVersions(root, ['0.0.1']).sort()).toEqual(['0.4.0.partial']);
    flipPointer(root, '0.3.0');
    expect(pruneVersions(root, [])).toEqual(['0.0.2', '0.0.1']);
  });
});

describe('the watcher', () => {
  it('rolls back when the new version never completes a hello by the deadline', async () => {
    flipPointer(root, '0.2.0');
    writeMarker(state, marker());
    expect(await watchUpdate(state, { pollMs: 20 })).toBe('rolled_back');
    expect(currentVersion(root)).toBe('0.1.0');
    expect(readMarker(state)).toBeUndefined();
    expect(readOutcome(state)).toMatchObject({
      from: '0.1.0',
      to: '0.2.0',
      assignmentId: 'as1',
      result: 'rolled_back',
      code: 'OUTPOST_E_UPDATE_ROLLED_BACK',
    });
    expect(readOutcome(state)?.reason).toMatch(/authenticated hello/);
  });

  it('rolls back a restart loop at once, even after a hello', async () => {
    flipPointer(root, '0.2.0');
    writeMarker(state, marker({ starts: 4, healthyAt: Date.now(), deadline: Date.now() + 60_000 }));
    const t = Date.now();
    expect(await watchUpdate(state, { pollMs: 20 })).toBe('rolled_back');
    expect(Date.now() - t).toBeLessThan(5000);
    expect(currentVersion(root)).toBe('0.1.0');
    expect(readOutcome(state)?.reason).toMatch(/restart loop/);
  });

  it('keeps the new version when it is healthy at the deadline', async () => {
    flipPointer(root, '0.2.0');
    writeMarker(state, marker({ healthyAt: Date.now() }));
    expect(await watchUpdate(state, { pollMs: 20 })).toBe('healthy');
    expect(currentVersion(root)).toBe('0.2.0');
    expect(readMarker(state)).toBeUndefined();
    expect(readOutcome(state)).toBeUndefined();
  });

  it('stops a hung new version so the service restarts into the old one', async () => {
    const { spawn } = await import('node:child_process');
    const hung = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => hung.once('exit', (_c, s) => r(s)));
    flipPointer(root, '0.2.0');
    writeMarker(state, marker({ agentPid: hung.pid }));
    expect(await watchUpdate(state, { pollMs: 20 })).toBe('rolled_back');
    expect(await exited).toBe('SIGTERM');
  });
});
