/**
 * The dnf side of pending_patches against outputs captured on real machines (fixtures/linux/README.md says where
 * from): yum/dnf 4 `check-update` with wrapped columns and an "Obsoleting Packages" section, dnf 5's advisory table,
 * and dnf 4 security lines whose NEVRA carries an epoch.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  collectPatchesLinux,
  parseDnf,
  parseDnfCheckUpdate,
  parseDnfSecurity,
  parseRpmInstalled,
} from './pending_patches.linux.js';
import { defaultInventoryOptions, type ProbeContext } from './probe.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'linux', name), 'utf8');

describe('dnf check-update', () => {
  it('reads every update and obsoleting package, never an obsoleted one or a notice (RHEL 7 capture)', () => {
    const entries = parseDnfCheckUpdate(fixture('yum-check-update-rhel7-obsoletes.txt'));
    // The lists Ansible's own test expects from this capture: 12 updates + 6 obsoleting packages.
    expect(entries.map((e) => e.name).sort()).toEqual(
      [
        'NetworkManager-openvpn',
        'NetworkManager-openvpn-gnome',
        'cabal-install',
        'cgit',
        'python34-libs',
        'python34-test',
        'python34-tkinter',
        'python34-tools',
        'qgit',
        'rdiff-backup',
        'stoken-libs',
        'xlockmore',
        'ddashboard',
        'python-bugzilla',
        'python2-futures',
        'python2-pip',
        'python2-pyxdg',
        'python2-simplejson',
      ].sort(),
    );
    expect(entries).toContainEqual({ name: 'NetworkManager-openvpn', arch: 'x86_64', evr: '1:1.2.6-1.el7' });
    expect(entries).toContainEqual({ name: 'python-bugzilla', arch: 'noarch', evr: '1.2.2-3.el7_2.1' });
    // The installed packages being replaced are not updates.
    for (const gone of ['developerdashboard', 'python-bugzilla-develdashboardfixes', 'python-pip', 'pyxdg'])
      expect(entries.map((e) => e.name)).not.toContain(gone);
  });

  it('joins entries dnf wrapped over several lines (long names, long versions)', () => {
    const entries = parseDnfCheckUpdate(fixture('yum-check-update-wrapped.txt'));
    expect(entries.map((e) => e.name)).toEqual([
      'empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty',
      'libtiff',
      'ipxe-roms-qemu',
      'quota',
      'quota-nls',
      'rdma',
      'screen',
      'sos',
      'sssd-client',
      'xxxxxxxxxxxxxxxxxxxxxxxxxx',
      'glibc',
    ]);
    expect(entries[0]!.evr).toBe('0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1-0');
    expect(entries).toContainEqual({ name: 'ipxe-roms-qemu', arch: 'noarch', evr: '20160127-1.git6366fa7a.el7' });
    expect(entries).toContainEqual({ name: 'screen', arch: 'x86_64', evr: '4.1.0-0.23.20120314git3c2946.el7_2' });
    expect(entries).toContainEqual({ name: 'xxxxxxxxxxxxxxxxxxxxxxxxxx', arch: 'noarch', evr: '1.16-1' });
  });

  it('nothing from empty, message-only or garbage output, without throwing', () => {
    expect(parseDnfCheckUpdate('')).toEqual([]);
    expect(parseDnfCheckUpdate('Last metadata expiration check: 0:10:00 ago on Tue 06 Oct 2026.\n\n')).toEqual([]);
    expect(parseDnfCheckUpdate('a b c\n\tx\n.x86_64 1-1 repo\nname.x86_64 nodash repo\n\u0000\u0000\u0000')).toEqual(
      [],
    );
  });
});

describe('dnf security advisories', () => {
  it('dnf 4: matches an advisory whose NEVRA carries an epoch, keeps the highest severity', () => {
    const sec = parseDnfSecurity(
      [
        'RHSA-2024:1234 Important/Sec. openssl-1:3.0.7-25.el9_3.x86_64',
        'RHSA-2024:1234 Important/Sec. openssl-libs-1:3.0.7-25.el9_3.x86_64',
        'RHSA-2024:2000 Moderate/Sec.  kernel-5.14.0-362.24.1.el9_3.x86_64',
        'RHSA-2024:2100 Critical/Sec.  kernel-5.14.0-362.24.2.el9_3.x86_64',
        'RHSA-2024:2200 Low/Sec.       kernel-5.14.0-362.24.3.el9_3.x86_64',
      ].join('\n'),
    );
    expect(Object.fromEntries(sec)).toEqual({
      'openssl.x86_64': 'Important',
      'openssl-libs.x86_64': 'Important',
      'kernel.x86_64': 'Critical',
    });
    const installed = parseRpmInstalled(
      'openssl.x86_64\t1:3.0.7-24.el9\nopenssl.i686\t1:3.0.7-24.el9\ncurl.x86_64\t0:7.76.1-26.el9\n',
    );
    // The newest candidate (…-27) is newer than the advisory's fixed version (…-25): still a security update.
    const rows = parseDnf(
      'openssl.x86_64   1:3.0.7-27.el9   baseos\ncurl.x86_64   7.76.1-29.el9   baseos\n',
      'RHSA-2024:1234 Important/Sec. openssl-1:3.0.7-25.el9_3.x86_64\n',
      installed,
    );
    expect(rows).toEqual([
      expect.objectContaining({
        name: 'openssl',
        installed_version: '1:3.0.7-24.el9',
        candidate_version: '1:3.0.7-27.el9',
        security: true,
        classification: 'security',
        severity: 'Important',
        source: 'dnf',
      }),
      expect.objectContaining({
        name: 'curl',
        installed_version: '7.76.1-26.el9',
        candidate_version: '7.76.1-29.el9',
        security: false,
        classification: 'update',
        severity: '',
      }),
    ]);
  });

  it('dnf 5: reads the advisory table; enhancement and unspecified advisories are not security (Fedora 41 capture)', () => {
    const table = fixture('dnf5-updateinfo-list-fc41.txt');
    expect(parseDnfSecurity(table).size).toBe(0);
    // The same table with one advisory of type security: only that package is flagged, epoch and all.
    const withSecurity = table.replace(
      'FEDORA-2025-68a042226c enhancement None ',
      'FEDORA-2025-68a042226c security    Moderate',
    );
    expect(Object.fromEntries(parseDnfSecurity(withSecurity))).toEqual({ 'container-selinux.noarch': 'Moderate' });
  });

  it('garbage and empty output give no advisory', () => {
    expect(parseDnfSecurity('').size).toBe(0);
    expect(parseDnfSecurity('Last metadata expiration check: 0:12:01 ago.\nX Y/Sec. notanevra\n').size).toBe(0);
  });
});

describe('pending_patches on an RPM machine', () => {
  /** A machine with only `commands` on PATH, answering each command line from `answers`; records what ran. */
  const machine = (commands: string[], answers: Record<string, string>, ran: string[]): ProbeContext => ({
    async exec(cmd, args) {
      const line = [cmd, ...args].join(' ');
      ran.push(line);
      const a = answers[line];
      if (a === undefined) throw new Error(`unexpected command ${line}`);
      return a;
    },
    readText: async () => undefined,
    has: async (cmd) => commands.includes(cmd),
    options: defaultInventoryOptions,
    now: () => 0,
  });
  const rpmQuery = 'rpm -qa --qf %{NAME}.%{ARCH}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n';

  it('asks yum where there is no dnf (RHEL 7), from its cache, and names yum as the source', async () => {
    const ran: string[] = [];
    const ctx = machine(
      ['yum', 'rpm'],
      {
        'yum -q --cacheonly check-update': fixture('yum-check-update-wrapped.txt'),
        'yum -q --cacheonly updateinfo list --security':
          'RHSA-2017:0286 Moderate/Sec. quota-1:4.01-11.el7_2.1.x86_64\nupdateinfo list done\n',
        [rpmQuery]: 'quota.x86_64\t1:4.01-11.el7\nglibc.x86_64\t0:2.17-157.el7\n',
      },
      ran,
    );
    const rows = await collectPatchesLinux(ctx);
    expect(ran.some((l) => l.startsWith('dnf'))).toBe(false);
    expect(rows).toHaveLength(11);
    expect(rows.every((r) => r.source === 'yum')).toBe(true);
    expect(rows.find((r) => r.name === 'quota')).toMatchObject({
      installed_version: '1:4.01-11.el7',
      candidate_version: '1:4.01-11.el7_2.1',
      security: true,
      severity: 'Moderate',
    });
    expect(rows.find((r) => r.name === 'glibc')).toMatchObject({ installed_version: '2.17-157.el7', security: false });
  });

  it('prefers dnf where both are present', async () => {
    const ran: string[] = [];
    const ctx = machine(
      ['dnf', 'yum', 'rpm'],
      {
        'dnf -q --cacheonly check-update': 'curl.x86_64   7.76.1-29.el9   baseos\n',
        'dnf -q --cacheonly updateinfo list --security': '',
        [rpmQuery]: 'curl.x86_64\t0:7.76.1-26.el9\n',
      },
      ran,
    );
    const rows = await collectPatchesLinux(ctx);
    expect(rows).toEqual([
      expect.objectContaining({ name: 'curl', source: 'dnf', installed_version: '7.76.1-26.el9' }),
    ]);
    expect(ran.some((l) => l.startsWith('yum'))).toBe(false);
  });
});
