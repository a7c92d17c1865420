/**
 * The collector service install under a root prefix (real files in a temp directory): what lands where with which
 * mode, the unit's hardening, idempotence (a second run changes nothing, an operator's configuration is kept), an
 * installer whose hash differs refused, the systemctl calls made on a real system, uninstall and purge; and the unit
 * checked by `systemd-analyze verify` when it is installed (skipped, saying so, otherwise).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installService, uninstallService } from './install.js';
import { collectorUnit } from './unit.js';

let dir: string;
let root: string;
let exe: string;
let packages: string;
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-service-'));
  root = join(dir, 'root');
  exe = join(dir, 'outpost-linux-x64');
  writeFileSync(exe, '#!/bin/sh\necho 0.1.0\n');
  packages = join(dir, 'packages');
  mkdirSync(packages);
  const agent = 'pretend agent';
  writeFileSync(join(packages, 'outpost-agent-linux-x64'), agent);
  writeFileSync(join(packages, 'unlisted'), 'never copied');
  writeFileSync(
    join(packages, 'manifest.json'),
    JSON.stringify({
      files: [{ file: 'outpost-agent-linux-x64', platform: 'linux-x64', sha256: sha(agent), size: 13 }],
    }),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const install = (extra: Partial<Parameters<typeof installService>[0]> = {}) =>
  installService({
    root,
    executable: exe,
    packagesDir: packages,
    host: undefined,
    port: undefined,
    systemctl: undefined,
    ...extra,
  });
const mode = (p: string) => statSync(join(root, p)).mode & 0o777;

describe('collector service install', () => {
  it('puts the executable, the installers, the configuration and the unit in place', () => {
    const steps = install();
    expect(steps.map((s) => [s.step, s.outcome])).toEqual([
      ['executable', 'created'],
      ['installer', 'created'],
      ['installers manifest', 'created'],
      ['configuration', 'created'],
      ['unit', 'created'],
    ]);
    expect(readFileSync(join(root, 'opt/outpost-collector/outpost'), 'utf8')).toBe(readFileSync(exe, 'utf8'));
    expect(mode('opt/outpost-collector/outpost')).toBe(0o755);
    expect(existsSync(join(root, 'opt/outpost-collector/packages/outpost-agent-linux-x64'))).toBe(true);
    expect(existsSync(join(root, 'opt/outpost-collector/packages/unlisted'))).toBe(false);
    expect(JSON.parse(readFileSync(join(root, 'etc/outpost/collector.json'), 'utf8'))).toEqual({
      dataDir: '/var/lib/outpost-collector',
      api: { host: '0.0.0.0', port: 8443 },
      installers: { dir: '/opt/outpost-collector/packages' },
    });
    expect(mode('etc/outpost/collector.json')).toBe(0o600);
    expect(readFileSync(join(root, 'etc/systemd/system/outpost.service'), 'utf8')).toBe(
      collectorUnit({ lowestPort: 8443 }),
    );
  });

  it('is idempotent, keeps an operator configuration, and updates a newer executable', () => {
    install();
    expect(install().map((s) => s.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged', 'kept', 'unchanged']);
    writeFileSync(join(root, 'etc/outpost/collector.json'), JSON.stringify({ api: { host: '0.0.0.0', port: 443 } }));
    writeFileSync(exe, '#!/bin/sh\necho 0.2.0\n');
    const steps = install({ port: 9999 });
    expect(steps.find((s) => s.step === 'executable')?.outcome).toBe('updated');
    expect(steps.find((s) => s.step === 'configuration')?.outcome).toBe('kept');
    expect(JSON.parse(readFileSync(join(root, 'etc/outpost/collector.json'), 'utf8')).api.port).toBe(443);
    // Port 443: the unit now grants exactly the one capability needed to bind it.
    const unit = readFileSync(join(root, 'etc/systemd/system/outpost.service'), 'utf8');
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  });

  it('refuses an installer that does not match its manifest, and an invalid operator configuration', () => {
    writeFileSync(join(packages, 'outpost-agent-linux-x64'), 'tampered agent');
    expect(() => install()).toThrow(/SHA-256 differs/);
    rmSync(root, { recursive: true, force: true });
    writeFileSync(join(packages, 'outpost-agent-linux-x64'), 'pretend agent');
    mkdirSync(join(root, 'etc/outpost'), { recursive: true });
    writeFileSync(join(root, 'etc/outpost/collector.json'), JSON.stringify({ api: { port: 'eighty' } }));
    expect(() => install()).toThrow(/api\/port/);
  });

  it('runs systemctl on a real system: reload, enable, then restart when something changed or start when not', () => {
    const calls: string[] = [];
    install({ systemctl: (a) => calls.push(a.join(' ')) });
    install({ systemctl: (a) => calls.push(a.join(' ')) });
    expect(calls).toEqual([
      'daemon-reload',
      'enable outpost.service',
      'restart outpost.service',
      'daemon-reload',
      'enable outpost.service',
      'start outpost.service',
    ]);
  });

  it('uninstalls, keeping the configuration and data unless purged', () => {
    install();
    mkdirSync(join(root, 'var/lib/private/outpost-collector'), { recursive: true });
    const calls: string[] = [];
    const steps = uninstallService({ root, purge: false, systemctl: (a) => calls.push(a.join(' ')) });
    expect(calls).toEqual(['disable --now outpost.service', 'daemon-reload']);
    expect(steps.map((s) => [s.step, s.outcome])).toContainEqual(['unit', 'removed']);
    expect(existsSync(join(root, 'etc/systemd/system/outpost.service'))).toBe(false);
    expect(existsSync(join(root, 'opt/outpost-collector'))).toBe(false);
    expect(existsSync(join(root, 'etc/outpost/collector.json'))).toBe(true);
    uninstallService({ root, purge: true, systemctl: undefined });
    expect(existsSync(join(root, 'etc/outpost/collector.json'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/private/outpost-collector'))).toBe(false);
    // Again: nothing left, nothing fails.
    expect(uninstallService({ root, purge: true, systemctl: undefined }).every((s) => s.outcome !== 'removed')).toBe(
      true,
    );
  });
});

describe('the unit', () => {
  const unit = collectorUnit({ lowestPort: 8443 });
  it('is hardened: dynamic user, read-only system, no capabilities, allow-listed system calls, JIT allowed', () => {
    for (const line of [
      'DynamicUser=yes',
      'StateDirectory=outpost-collector',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK',
      'SystemCallFilter=@system-service',
      'LoadCredential=collector.json:/etc/outpost/collector.json',
      'ExecStart=/opt/outpost-collector/outpost serve --config %d/collector.json',
    ])
      expect(unit.split('\n'), line).toContain(line);
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute/m);
    expect(unit).not.toMatch(/AmbientCapabilities/);
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  it.skipIf(!analyze)('passes systemd-analyze verify (skipped where systemd-analyze is not installed)', () => {
    install();
    // verify needs the unit's dependencies (sysinit.target…) and its ExecStart inside the root.
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
    const r = spawnSync(
      'systemd-analyze',
      ['verify', `--root=${root}`, join(root, 'etc/systemd/system/outpost.service')],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    // And it does catch a broken unit.
    writeFileSync(join(root, 'etc/systemd/system/outpost.service'), unit.replace('%d/', '%Q/'));
    const bad = spawnSync(
      'systemd-analyze',
      ['verify', `--root=${root}`, join(root, 'etc/systemd/system/outpost.service')],
      {
        encoding: 'utf8',
      },
    );
    expect(bad.status).not.toBe(0);
  });
});
