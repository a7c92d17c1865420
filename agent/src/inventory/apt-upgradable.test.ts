/**
 * The pieces the agent uses to answer `apt list --upgradable` itself: Debian version order (against dpkg's own
 * `--compare-versions`), apt's index file names, sources in both formats, pins and Release files, apt's candidate rule,
 * and the index scanner. The end-to-end equality with apt is in linux.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { compareDebianVersions } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import {
  type AvailableVersion,
  parsePreferences,
  parseRelease,
  UnsupportedPolicy,
  upgradeCandidate,
} from './apt-policy.js';
import {
  indexTargets,
  parseDeb822Sources,
  parseOneLineSources,
  UnsupportedSource,
  uriToFileName,
} from './apt-sources.js';
import { parseDpkgStatus, recordChunker, scanPackages } from './apt-upgradable.js';

const PAIRS: [string, string][] = [
  ['1.0', '1.0'],
  ['1.0', '1.1'],
  ['1.0~rc1', '1.0'],
  ['1.0~rc1', '1.0~rc2'],
  ['1.0~~', '1.0~'],
  ['1.0', '1.0+b1'],
  ['1.0-1', '1.0-1+deb12u1'],
  ['1:0.9', '2.0'],
  ['2.0', '1:0.1'],
  ['1.0a', '1.0'],
  ['1.0a', '1.0+'],
  ['1.10', '1.9'],
  ['1.010', '1.10'],
  ['0.58+deb12u6', '0.58+deb12u7'],
  ['2.42.10+dfsg-1+deb12u2', '2.42.10+dfsg-1+deb12u4'],
  ['5.2.15-2+b8', '5.2.15-2+b13'],
  ['0.13.0-1', '0.13.0-1.1~deb12u1'],
  ['1.2.3-4-5', '1.2.3-4'],
  ['7.88.1-10+deb12u14', '7.88.1-10+deb12u15'],
  ['1.0.0', '1.0'],
  ['a', 'b'],
  ['1.0-0', '1.0'],
  ['1:1.0', '1.0'],
];

/** `dpkg --compare-versions a op b`: true when dpkg says so. */
function dpkgSays(a: string, op: 'lt' | 'eq', b: string): boolean {
  try {
    execFileSync('dpkg', ['--compare-versions', a, op, b]);
    return true;
  } catch {
    return false;
  }
}

describe('Debian version order', () => {
  it('orders tildes, epochs, revisions and numbers as dpkg does', () => {
    expect(compareDebianVersions('1.0~rc1', '1.0')).toBeLessThan(0);
    expect(compareDebianVersions('1:0.9', '2.0')).toBeGreaterThan(0);
    expect(compareDebianVersions('1.10', '1.9')).toBeGreaterThan(0);
    expect(compareDebianVersions('5.2.15-2+b8', '5.2.15-2+b13')).toBeLessThan(0);
    expect(compareDebianVersions('1.010', '1.10')).toBe(0);
  });

  it.runIf(existsSync('/usr/bin/dpkg'))('agrees with `dpkg --compare-versions` on every pair', () => {
    for (const [a, b] of PAIRS) {
      const dpkgLess = dpkgSays(a, 'lt', b);
      const dpkgEqual = dpkgSays(a, 'eq', b);
      const mine = Math.sign(compareDebianVersions(a, b));
      expect([a, b, mine]).toEqual([a, b, dpkgLess ? -1 : dpkgEqual ? 0 : 1]);
    }
  });
});

describe('apt sources and index names', () => {
  it('names indexes as apt does (scheme and credentials dropped, `_` quoted, `/` → `_`)', () => {
    expect(uriToFileName('http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages')).toBe(
      'deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages',
    );
    expect(uriToFileName('https://user:pw@repo.example:8443/my_repo/dists/x/Release')).toBe(
      'repo.example:8443_my%5frepo_dists_x_Release',
    );
    expect(uriToFileName('file:/tmp/repo/./Packages')).toBe('_tmp_repo_._Packages');
  });

  it('reads one-line and deb822 entries, skipping deb-src, disabled entries and comments', () => {
    const one = parseOneLineSources(
      [
        '# comment',
        'deb http://deb.debian.org/debian bookworm main contrib',
        'deb-src http://deb.debian.org/debian bookworm main',
        'deb [arch=amd64,i386 signed-by=/k.gpg] https://x.example/apt stable main # trailing',
        'deb [trusted=yes] file:/srv/repo ./',
      ].join('\n'),
    );
    expect(one.map((e) => [e.uris[0], e.suites[0], e.components, e.architectures])).toEqual([
      ['http://deb.debian.org/debian', 'bookworm', ['main', 'contrib'], []],
      ['https://x.example/apt', 'stable', ['main'], ['amd64', 'i386']],
      ['file:/srv/repo', './', [], []],
    ]);
    const d822 = parseDeb822Sources(
      [
        'Types: deb deb-src',
        '# a comment inside',
        'URIs: http://deb.debian.org/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        '',
        'Types: deb',
        'URIs: https://off.example/apt',
        'Suites: x',
        'Components: main',
        'Enabled: no',
      ].join('\n'),
    );
    expect(d822).toHaveLength(1);
    const targets = indexTargets([...d822, one[2]!], ['amd64']);
    expect(targets.map((t) => [t.listName, t.releasePrefix, t.site])).toEqual([
      [
        'deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages',
        'deb.debian.org_debian_dists_bookworm_',
        'deb.debian.org',
      ],
      [
        'deb.debian.org_debian_dists_bookworm_main_binary-all_Packages',
        'deb.debian.org_debian_dists_bookworm_',
        'deb.debian.org',
      ],
      [
        'deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages',
        'deb.debian.org_debian_dists_bookworm-updates_',
        'deb.debian.org',
      ],
      [
        'deb.debian.org_debian_dists_bookworm-updates_main_binary-all_Packages',
        'deb.debian.org_debian_dists_bookworm-updates_',
        'deb.debian.org',
      ],
      ['_srv_repo_._Packages', '_srv_repo_._', ''],
    ]);
  });

  it('refuses what it cannot name the way apt would (the caller then asks apt)', () => {
    expect(() => parseOneLineSources('deb [arch+=i386] http://x/ y main')).toThrow(UnsupportedSource);
    expect(() => parseOneLineSources('deb')).toThrow(UnsupportedSource);
    expect(() =>
      indexTargets([{ uris: ['http://x/'], suites: ['$(ARCH)/'], components: [], architectures: [] }], ['amd64']),
    ).toThrow(UnsupportedSource);
  });
});

const v = (version: string, over: Partial<AvailableVersion> = {}): AvailableVersion => ({
  version,
  site: 'deb.debian.org',
  suite: 'stable',
  component: 'main',
  arch: 'amd64',
  release: undefined,
  ...over,
});
const rel = (over: Partial<ReturnType<typeof parseRelease>> = {}) => ({
  ...parseRelease('Origin: Debian\nSuite: stable\n'),
  ...over,
});

describe('apt version policy', () => {
  it('picks the newest default-priority version, never a downgrade', () => {
    expect(upgradeCandidate('1.0-1', [v('1.1-1'), v('1.2-1'), v('0.9-1')], undefined)?.version).toBe('1.2-1');
    expect(upgradeCandidate('2.0-1', [v('1.5-1')], undefined)).toBeUndefined();
    expect(upgradeCandidate('1.0-1', [v('1.0-1')], undefined)).toBeUndefined();
  });

  it('NotAutomatic archives (priority 1) never upgrade; with ButAutomaticUpgrades (100) they do', () => {
    const backports = rel({ notAutomatic: true });
    expect(upgradeCandidate('1.0-1', [v('2.0-1', { release: backports })], undefined)).toBeUndefined();
    const bau = rel({ notAutomatic: true, butAutomaticUpgrades: true });
    expect(upgradeCandidate('1.0-1', [v('2.0-1', { release: bau })], undefined)?.version).toBe('2.0-1');
    // A default archive at 500 beats a newer NotAutomatic version.
    expect(upgradeCandidate('1.0-1', [v('1.1-1'), v('2.0-1', { release: backports })], undefined)?.version).toBe(
      '1.1-1',
    );
  });

  it('a package pin raises or lowers the versions it matches, and only those', () => {
    const pins = parsePreferences(
      [
        'Explanation: the vendor build wins',
        'Package: nodejs nsolid',
        'Pin: origin "deb.nodesource.com"',
        'Pin-Priority: 600',
        '',
        'Package: hold-me',
        'Pin: version 1.0*',
        'Pin-Priority: 700',
        '',
        'Package: ignored',
        'Pin: release a=stable',
      ].join('\n'),
    );
    expect([...pins.keys()]).toEqual(['nodejs', 'nsolid', 'hold-me']);
    const vendor = v('20.1-1', { site: 'deb.nodesource.com' });
    // The vendor's build at 600 beats Debian's newer one at 500 while it is newer than the installed version…
    expect(upgradeCandidate('20.0-1', [vendor, v('22.0-1')], pins.get('nodejs'))?.version).toBe('20.1-1');
    // …but a version older than the installed one is never a candidate (no downgrade below 1000): Debian's wins.
    expect(upgradeCandidate('20.5-1', [vendor, v('22.0-1')], pins.get('nodejs'))?.version).toBe('22.0-1');
    // The installed 1.0.2 matches `1.0*` at 700: a newer 2.0 at 500 is not a candidate.
    expect(upgradeCandidate('1.0.2', [v('1.0.3'), v('2.0')], pins.get('hold-me'))?.version).toBe('1.0.3');
  });

  it('leaves general, pattern, downgrade and duplicate pins to apt', () => {
    const one = (s: string) => () => parsePreferences(s);
    expect(one('Package: *\nPin: release a=stable\nPin-Priority: 900')).toThrow(UnsupportedPolicy);
    expect(one('Package: lib*\nPin: release a=stable\nPin-Priority: 900')).toThrow(UnsupportedPolicy);
    expect(one('Package: x\nPin: release a=stable\nPin-Priority: 1001')).toThrow(UnsupportedPolicy);
    expect(one('Package: x\nPin: origin a\nPin-Priority: 600\n\nPackage: x\nPin: origin b\nPin-Priority: 50')).toThrow(
      UnsupportedPolicy,
    );
    expect(one('Package: x\nPin: bogus\nPin-Priority: 600')).toThrow(UnsupportedPolicy);
  });

  it('reads Release and clearsigned InRelease headers', () => {
    const signed = [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA512',
      '',
      'Origin: Debian Backports',
      'Suite: bookworm-backports',
      'Codename: bookworm-backports',
      'NotAutomatic: yes',
      'ButAutomaticUpgrades: yes',
      'SHA256:',
      ' abc 1 main/Release',
      '-----BEGIN PGP SIGNATURE-----',
      'xyz',
    ].join('\n');
    expect(parseRelease(signed)).toMatchObject({
      origin: 'Debian Backports',
      suite: 'bookworm-backports',
      notAutomatic: true,
      butAutomaticUpgrades: true,
    });
    expect(parseRelease('')).toMatchObject({ suite: '', notAutomatic: false });
  });
});

describe('status and index scanning', () => {
  it('keeps installed packages only, arch `all` under the native architecture', () => {
    const status = [
      'Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n',
      'Package: b\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n',
      'Package: c\nStatus: hold ok installed\nArchitecture: all\nVersion: 2\n',
      'Package: a\nStatus: install ok installed\nArchitecture: i386\nVersion: 1\n',
    ].join('\n');
    expect([...parseDpkgStatus(status, 'amd64').keys()]).toEqual(['a:amd64', 'c:amd64', 'a:i386']);
  });

  it('reads the wanted records only, wherever their fields are, and stops at the record end', () => {
    const index = Buffer.from(
      [
        'Package: skip\nVersion: 9\nArchitecture: amd64\n',
        'Package: want\nArchitecture: all\nDescription: x\n multi line\nVersion: 1.2\n',
        'Description: odd order\nPackage: want2\nVersion: 3\nArchitecture: amd64\nPhased-Update-Percentage: 10\n',
        'Package: nover\nArchitecture: amd64\n',
        'Package: want\nVersion: 1.3\nArchitecture: amd64',
      ].join('\n'),
    );
    const seen: string[] = [];
    scanPackages(index, new Set(['want', 'want2', 'nover']), (n, ver, a, phased) =>
      seen.push(`${n} ${ver} ${a}${phased ? ' phased' : ''}`),
    );
    expect(seen).toEqual(['want 1.2 all', 'want2 3 amd64 phased', 'want 1.3 amd64']);
  });

  it('finds the same records however the index is cut into chunks (separators cut in two included)', () => {
    const index = Buffer.from(
      Array.from({ length: 6 }, (_, i) => `Package: p${i}\nVersion: ${i}.0\nArchitecture: amd64\n`).join('\n'),
    );
    const scanAll = (chunks: Buffer[]) => {
      const seen: string[] = [];
      const c = recordChunker((r) => scanPackages(r, new Set(['p0', 'p2', 'p5']), (n, v) => seen.push(`${n}=${v}`)));
      for (const b of chunks) c.push(b);
      c.end();
      return seen;
    };
    const whole = scanAll([index]);
    expect(whole).toEqual(['p0=0.0', 'p2=2.0', 'p5=5.0']);
    for (let a = 1; a < index.length; a++) {
      expect(scanAll([index.subarray(0, a), index.subarray(a)])).toEqual(whole);
      const b = Math.min(index.length - 1, a + 7);
      if (b > a) expect(scanAll([index.subarray(0, a), index.subarray(a, b), index.subarray(b)])).toEqual(whole);
    }
  });
});
