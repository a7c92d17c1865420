/**
 * `install --update-root FILE` under --root: the release root is copied beside the configuration owner-only, the
 * configuration points at it (the path the agent reads on the machine), a re-run changes nothing, and a file that is
 * not a root signed by its own keys is a bad argument that touches nothing. Real signed roots from the release tools.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initReleaseKeys, OutpostError } from '@outpost/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAgentConfig, writeAgentConfig } from '../config/index.js';
import { loadTrustedRoot } from '../update/verify.js';
import { exitCodeFor, outcomeOf } from './exit-codes.js';
import { type InstallOptions, install } from './install.js';
import { installLayout } from './layout.js';

const logger = pino({ level: 'silent' });
const server = 'https://collector.example:8443';
let base: string;
let root: string;
let exe: string;
let rootFile: string;
const layout = () => installLayout(root, 'linux')!;
const run = (extra: Partial<InstallOptions> = {}) =>
  install({ server, executable: exe, root, platform: 'linux', logger, ...extra });

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'outpost-update-root-'));
  root = join(base, 'root');
  const l = installLayout(join(base, 'root'), 'linux')!;
  mkdirSync(join(root, 'var/lib'), { recursive: true });
  writeAgentConfig(l.configFile, {
    server,
    agentId: 'ag_0123456789abcdef01234567',
    clientId: 'cl_1',
    siteId: 'st_1',
    stateDir: l.stateDir,
  });
  exe = join(base, 'agent');
  writeFileSync(exe, '#!/bin/sh\n[ "$1" = --version ] && echo 0.1.0\n', { mode: 0o755 });
  rootFile = initReleaseKeys(join(base, 'keys')).rootFile;
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('install --update-root', () => {
  it('copies the release root beside the configuration, owner-only, and points the configuration at it', async () => {
    const r = await run({ updateRoot: rootFile });
    const l = layout();
    expect(r.changes).toEqual(
      expect.arrayContaining([
        'release root version 1 written to /etc/outpost/update-root.json',
        'configuration trusts that release root',
      ]),
    );
    expect(readFileSync(l.updateRootFile)).toEqual(readFileSync(rootFile));
    expect(statSync(l.updateRootFile).mode & 0o777).toBe(0o600);
    expect(statSync(l.configDir).mode & 0o777).toBe(0o700);
    const config = readAgentConfig(l.configFile);
    expect(config.updateRoot).toBe('/etc/outpost/update-root.json');
    expect(config.agentId).toBe('ag_0123456789abcdef01234567'); // identity kept
    // What the updater loads (the real path, here under the staging root) is the root given.
    expect(loadTrustedRoot(join(root, config.updateRoot!))).toBe(readFileSync(rootFile, 'utf8'));
  });

  it('changes nothing when run again with the same root, and keeps the root when none is given', async () => {
    expect((await run({ updateRoot: rootFile })).changes).toEqual([]);
    expect((await run()).changes).toEqual([]);
    expect(readAgentConfig(layout().configFile).updateRoot).toBe('/etc/outpost/update-root.json');
  });

  it('replaces the root with another valid one (a new release machine), and fixes a widened mode', async () => {
    const other = initReleaseKeys(join(base, 'keys2')).rootFile;
    chmodSync(layout().updateRootFile, 0o644);
    const r = await run({ updateRoot: other });
    expect(r.changes).toEqual(['release root version 1 written to /etc/outpost/update-root.json']);
    expect(readFileSync(layout().updateRootFile)).toEqual(readFileSync(other));
    expect(statSync(layout().updateRootFile).mode & 0o777).toBe(0o600);
    await run({ updateRoot: rootFile });
  });

  it('refuses a file that is not a release root signed by its own keys, as a bad argument, touching nothing', async () => {
    const signed = JSON.parse(readFileSync(rootFile, 'utf8')) as { signed: { expires: string } };
    const forged = join(base, 'forged.json');
    signed.signed.expires = '2099-01-01T00:00:00Z'; // any change to the signed part breaks its signatures
    writeFileSync(forged, JSON.stringify(signed));
    const notJson = join(base, 'not.json');
    writeFileSync(notJson, 'root please');
    const targets = join(base, 'targets.json');
    writeFileSync(targets, JSON.stringify({ signed: { _type: 'targets', version: 1 }, signatures: [] }));
    const before = readFileSync(layout().updateRootFile);
    for (const [file, why] of [
      [forged, 'is not signed by its own root keys'],
      [notJson, 'is not TUF root metadata'],
      [targets, 'is not TUF root metadata'],
      [join(base, 'missing.json'), 'cannot be read (ENOENT)'],
    ] as const) {
      const err = await run({ updateRoot: file }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, file).toBeInstanceOf(OutpostError);
      expect((err as OutpostError).code).toBe('OUTPOST_E_INSTALL_ARGUMENTS');
      expect((err as OutpostError).message).toContain(why);
      expect(exitCodeFor(outcomeOf(err), 'linux')).toBe(2);
    }
    expect(readFileSync(layout().updateRootFile)).toEqual(before);
  });
});
