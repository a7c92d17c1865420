/**
 * install and uninstall under `--root` in a temp directory (no root, no systemd): the layout, the pointer, the
 * modes, idempotence, upgrade, downgrade refusal, pruning, the lock and uninstall. The "executables" are tiny shell
 * scripts answering `--version`, which is all install asks of them; the machine is already enrolled (a configuration
 * is there), so no collector is needed: enrolling from scratch is covered by test/package/install-cli.test.ts and
 * the systemd test.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAgentConfig } from '../config/index.js';
import { exitCodeFor, outcomeOf } from './exit-codes.js';
import { type InstallOptions, install } from './install.js';
import { installLayout } from './layout.js';
import { uninstall } from './uninstall.js';

const logger = pino({ level: 'silent' });
let base: string;
let root: string;
const layout = () => installLayout(root, 'linux')!;
const agentId = 'ag_0123456789abcdef01234567';
const server = 'https://collector.example:8443';

/** A stand-in executable: prints `version` for --version (and, with `tag`, differs in bytes from another build). */
function fakeExecutable(version: string, tag = ''): string {
  const file = join(base, `agent-${version}${tag}`);
  writeFileSync(file, `#!/bin/sh\n# build ${tag}\n[ "$1" = --version ] && echo ${version}\n`, { mode: 0o755 });
  return file;
}

const run = (executable: string, extra: Partial<InstallOptions> = {}) =>
  install({ server, executable, root, platform: 'linux', logger, ...extra });

/** The error a promise rejects with, as an OutpostError. */
async function failure(p: Promise<unknown>): Promise<OutpostError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutpostError);
  return err as OutpostError;
}

/** Every path under the root with its mode, link target and mtime: what "changed nothing" is checked against. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      // /run holds the install lock, created and removed by every run: its mtime always moves.
      if (p === join(root, 'run')) continue;
      const s = lstatSync(p);
      out[p.slice(root.length)] = s.isSymbolicLink()
        ? `-> ${readlinkSync(p)}`
        : `${(s.mode & 0o7777).toString(8)} ${s.mtimeMs}`;
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'outpost-install-'));
  root = join(base, 'root');
  mkdirSync(root);
  // Already enrolled: a configuration with wide modes an older install might have left.
  const l = layout();
  for (const d of ['etc', 'var/lib']) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  writeAgentConfig(l.configFile, { server, agentId, clientId: 'cl_1', siteId: 'st_1', stateDir: l.stateDir });
  chmodSync(l.configDir, 0o755);
  chmodSync(l.configFile, 0o644);
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('install under --root', () => {
  it('installs: versioned copy, current pointer, unit and its enable link, owner-only configuration and state', async () => {
    const exe = fakeExecutable('0.1.0');
    const r = await run(exe);
    const l = layout();
    expect(r).toMatchObject({ version: '0.1.0', previousVersion: undefined, agentId });
    expect(r.changes).toEqual(
      expect.arrayContaining(['copied version 0.1.0', 'current → versions/0.1.0', 'enabled at boot']),
    );
    const copy = join(l.versionsDir, '0.1.0', 'outpost-agent');
    expect(readFileSync(copy, 'utf8')).toBe(readFileSync(exe, 'utf8'));
    expect(statSync(copy).mode & 0o777).toBe(0o755);
    expect(readlinkSync(l.currentLink)).toBe('versions/0.1.0');
    expect(readFileSync(join(l.currentLink, 'outpost-agent'), 'utf8')).toBe(readFileSync(exe, 'utf8'));
    expect(readFileSync(l.serviceFile, 'utf8')).toContain('ExecStart=/opt/outpost/current/outpost-agent run');
    expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/outpost-agent.service'))).toBe(
      '/etc/systemd/system/outpost-agent.service',
    );
    expect(statSync(l.configDir).mode & 0o777).toBe(0o700);
    expect(statSync(l.configFile).mode & 0o777).toBe(0o600);
    expect(statSync(l.stateDir).mode & 0o777).toBe(0o700);
    // Only the leaves are private: parents an install creates stay traversable.
    for (const d of ['opt', 'opt/outpost', 'var/cache', 'run'].filter((p) => existsSync(join(root, p))))
      expect(statSync(join(root, d)).mode & 0o777, d).toBe(0o755);
    expect(existsSync(l.lockFile)).toBe(false); // released
  });

  it('changes nothing when run again with the same executable', async () => {
    const before = snapshot(root);
    const r = await run(fakeExecutable('0.1.0'));
    expect(r.changes).toEqual([]);
    expect(snapshot(root)).toEqual(before);
  });

  it('upgrades to a newer executable in place, keeping the configuration byte for byte', async () => {
    const l = layout();
    const config = readFileSync(l.configFile);
    const r = await run(fakeExecutable('0.2.0'));
    expect(r).toMatchObject({ version: '0.2.0', previousVersion: '0.1.0', agentId });
    expect(readlinkSync(l.currentLink)).toBe('versions/0.2.0');
    expect(readdirSync(l.versionsDir).sort()).toEqual(['0.1.0', '0.2.0']);
    expect(readFileSync(l.configFile)).toEqual(config);
  });

  it('refuses an older executable (fatal exit code) unless --force', async () => {
    const l = layout();
    const err = await failure(run(fakeExecutable('0.1.0')));
    expect(err.code).toBe('OUTPOST_E_INSTALL_DOWNGRADE');
    expect(exitCodeFor(outcomeOf(err), 'linux')).toBe(1);
    expect(readlinkSync(l.currentLink)).toBe('versions/0.2.0');
    const forced = await run(fakeExecutable('0.1.0'), { force: true });
    expect(forced.changes).toContain('current → versions/0.1.0');
    expect(readlinkSync(l.currentLink)).toBe('versions/0.1.0');
    await run(fakeExecutable('0.2.0'));
  });

  it('refuses another build of the installed version unless --force, which replaces the directory', async () => {
    const l = layout();
    const other = fakeExecutable('0.2.0', '-rebuilt');
    expect((await failure(run(other))).code).toBe('OUTPOST_E_INSTALL_FAILED');
    expect(readFileSync(join(l.currentLink, 'outpost-agent'), 'utf8')).not.toContain('rebuilt');
    await run(other, { force: true });
    expect(readFileSync(join(l.currentLink, 'outpost-agent'), 'utf8')).toContain('rebuilt');
    expect(readdirSync(l.versionsDir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('refuses a copy that does not report the version it claims, leaving nothing staged', async () => {
    const l = layout();
    const liar = join(base, 'liar');
    // Answers 0.9.0 the first time (the source check) and 0.0.1 afterwards (the staged copy's pre-flight).
    writeFileSync(
      liar,
      `#!/bin/sh\nif [ -e ${base}/asked ]; then echo 0.0.1; else touch ${base}/asked; echo 0.9.0; fi\n`,
      { mode: 0o755 },
    );
    const err = await failure(run(liar));
    expect(err.code).toBe('OUTPOST_E_INSTALL_FAILED');
    expect(err.message).toMatch(/reports version 0\.0\.1, not 0\.9\.0/);
    expect(readdirSync(l.versionsDir).sort()).toEqual(['0.1.0', '0.2.0']);
    expect(readlinkSync(l.currentLink)).toBe('versions/0.2.0');
  });

  it('keeps three versions, never the current or the previous one', async () => {
    const l = layout();
    await run(fakeExecutable('0.3.0'));
    await run(fakeExecutable('0.4.0'));
    expect(readdirSync(l.versionsDir).sort()).toEqual(['0.2.0', '0.3.0', '0.4.0']);
  });

  it('refuses bad arguments before touching anything (exit code 2, 1639 on Windows)', async () => {
    const before = snapshot(root);
    for (const bad of [
      { server: 'ftp://x' },
      { server: 'not a url' },
      { caFingerprint: 'abc' },
      { token: 'secret-but-malformed' },
      { executable: join(base, 'missing') },
    ]) {
      const err = await failure(run(fakeExecutable('0.4.0'), bad));
      expect(err.code, JSON.stringify(bad)).toBe('OUTPOST_E_INSTALL_ARGUMENTS');
      expect(exitCodeFor(outcomeOf(err), 'linux')).toBe(2);
      expect(exitCodeFor(outcomeOf(err), 'win32')).toBe(1639);
    }
    // The token's value is never echoed back.
    const err = await failure(run(fakeExecutable('0.4.0'), { token: 'secret-but-malformed' }));
    expect(err.message).not.toContain('secret');
    expect(snapshot(root)).toEqual(before);
  });

  it('refuses to re-point an enrolled machine at another collector', async () => {
    const err = await failure(run(fakeExecutable('0.4.0'), { server: 'https://other.example:8443' }));
    expect(err.code).toBe('OUTPOST_E_INSTALL_FAILED');
    expect(err.message).toMatch(/enrolled with https:\/\/collector\.example:8443/);
  });

  it('answers "another install running" (4, 1618) while the lock is held by a live process, and takes a stale one', async () => {
    const l = layout();
    const holder = spawn('sleep', ['30']);
    try {
      writeFileSync(l.lockFile, `${holder.pid}\n`);
      const err = await failure(run(fakeExecutable('0.4.0')));
      expect(err.code).toBe('OUTPOST_E_INSTALL_LOCKED');
      expect(exitCodeFor(outcomeOf(err), 'linux')).toBe(4);
      expect(exitCodeFor(outcomeOf(err), 'win32')).toBe(1618);
      expect((await failure(uninstall({ root, platform: 'linux', logger }))).code).toBe('OUTPOST_E_INSTALL_LOCKED');
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((r) => holder.once('exit', r));
    // Its process is gone: the lock is stale and taken over.
    expect((await run(fakeExecutable('0.4.0'))).changes).toEqual([]);
    expect(existsSync(l.lockFile)).toBe(false);
  });

  it('says Windows installs through the MSI', async () => {
    const err = await failure(install({ server, root, platform: 'win32', logger }));
    expect(err.code).toBe('OUTPOST_E_INSTALL_UNSUPPORTED');
    expect(err.message).toMatch(/msiexec/);
    expect(exitCodeFor(outcomeOf(err), 'win32')).toBe(1603);
  });

  it('uninstalls: service and executables go, identity stays; again removes nothing; --purge removes the rest', async () => {
    const l = layout();
    mkdirSync(join(l.cacheDir, 'native'), { recursive: true });
    const r = await uninstall({ root, platform: 'linux', logger });
    expect(r.removed).toEqual([l.serviceFile, l.installDir]);
    expect(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/outpost-agent.service'))).toBe(false);
    expect(existsSync(l.configFile)).toBe(true);
    expect(existsSync(l.stateDir)).toBe(true);
    expect((await uninstall({ root, platform: 'linux', logger })).removed).toEqual([]);

    // A reinstall finds the identity it left.
    expect((await run(fakeExecutable('0.4.0'))).agentId).toBe(agentId);

    const purged = await uninstall({ root, platform: 'linux', logger, purge: true });
    expect(purged.removed).toEqual([l.serviceFile, l.installDir, l.configDir, l.stateDir, l.cacheDir]);
    expect((await uninstall({ root, platform: 'linux', logger, purge: true })).removed).toEqual([]);
  });

  it('needs a token once the identity is gone', async () => {
    const err = await failure(run(fakeExecutable('0.4.0')));
    expect(err.code).toBe('OUTPOST_E_INSTALL_ARGUMENTS');
    expect(err.message).toMatch(/not enrolled.*--token/);
  });
});
