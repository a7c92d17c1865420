/**
 * `install --update-root FILE` under --root: the release root is copied beside the configuration owner-only, the
 * configuration points at it (the path the agent reads on the machine), a re-run changes nothing, and a file that is
 * not a root signed by its own keys is a bad argument that touches nothing. Real signed roots from the release tools.
 * `--update-root-sha256`: the root fetched from a loopback server standing in for the collector's /v1/updates/, trusted
 * only when its bytes hash to the pin; a swapped root, a missing one and a malformed pin are refused touching nothing.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

describe('install --update-root-sha256', () => {
  let server: Server;
  let served: string | undefined; // the 1.root.json the stand-in collector serves, or 404
  let requests = 0;
  let url: string;
  let stage: string;
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  const stagedLayout = () => installLayout(stage, 'linux')!;
  const pinned = (updateRootSha256: string, extra: Partial<InstallOptions> = {}) =>
    install({ server: url, executable: exe, root: stage, platform: 'linux', logger, updateRootSha256, ...extra });
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutpostError);
    return err as OutpostError;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      if (req.url === '/v1/updates/metadata/1.root.json' && served) res.end(readFileSync(served));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stage = join(base, 'pinned');
    const l = stagedLayout();
    mkdirSync(join(stage, 'var/lib'), { recursive: true });
    writeAgentConfig(l.configFile, {
      server: url,
      agentId: 'ag_0123456789abcdef01234568',
      clientId: 'cl_1',
      siteId: 'st_1',
      stateDir: l.stateDir,
    });
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('refuses before changing anything when the collector has no root, or serves another one than pinned', async () => {
    served = undefined;
    let err = await refusal(pinned(sha(rootFile)));
    expect(err.code).toBe('OUTPOST_E_INSTALL_UPDATE_ROOT');
    expect(err.message).toContain('serves no release root yet');
    expect(exitCodeFor(outcomeOf(err), 'linux')).toBe(1);
    // A broken-into collector swaps in its own root: the admin's pin says no.
    served = initReleaseKeys(join(base, 'attacker')).rootFile;
    err = await refusal(pinned(sha(rootFile)));
    expect(err.code).toBe('OUTPOST_E_INSTALL_UPDATE_ROOT');
    expect(err.message).toContain(`not the pinned ${sha(rootFile)}`);
    expect(existsSync(stagedLayout().updateRootFile)).toBe(false);
    expect(existsSync(join(stage, 'opt/outpost/current'))).toBe(false); // nothing installed either
    expect(readAgentConfig(stagedLayout().configFile).updateRoot).toBeUndefined();
  });

  it('trusts the root the collector serves when it hashes to the pin, and a re-run needs no collector', async () => {
    served = rootFile;
    const r = await pinned(sha(rootFile).toUpperCase()); // as printed, in any case
    expect(r.changes).toEqual(
      expect.arrayContaining([
        'release root version 1 written to /etc/outpost/update-root.json',
        'configuration trusts that release root',
      ]),
    );
    expect(readFileSync(stagedLayout().updateRootFile)).toEqual(readFileSync(rootFile));
    expect(statSync(stagedLayout().updateRootFile).mode & 0o777).toBe(0o600);
    const config = readAgentConfig(stagedLayout().configFile);
    expect(loadTrustedRoot(join(stage, config.updateRoot!))).toBe(readFileSync(rootFile, 'utf8'));
    served = undefined;
    const before = requests;
    expect((await pinned(`sha256:${sha(rootFile)}`)).changes).toEqual([]);
    expect(requests).toBe(before);
  });

  it('refuses a malformed pin, or a pin and a file together, as bad arguments', async () => {
    for (const [opts, why] of [
      [{ updateRootSha256: 'abc' }, 'must be 64 hex digits'],
      [{ updateRootSha256: sha(rootFile), updateRoot: rootFile }, 'give one'],
    ] as const) {
      const err = await refusal(
        install({ server: url, executable: exe, root: stage, platform: 'linux', logger, ...opts }),
      );
      expect(err.code).toBe('OUTPOST_E_INSTALL_ARGUMENTS');
      expect(err.message).toContain(why);
      expect(exitCodeFor(outcomeOf(err), 'linux')).toBe(2);
    }
  });
});
