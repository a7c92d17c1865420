/**
 * The Linux probes against the system's own tools on this machine: packages equal `dpkg-query -W`, CPUs equal
 * `nproc`, memory equals /proc/meminfo, and pending patches equal `apt list --upgradable` for the same apt state
 * (a file-based fixture repository with a newer version of a package installed into a temp dpkg status file).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptPathsFrom, aptUpgradableNative } from './apt-upgradable.js';
import { systemProbeContext } from './exec.js';
import { aptDir, parseAptConfig } from './pending_patches.linux.js';
import type { ProbeContext } from './probe.js';
import { probesFor } from './registry.js';
import { runProbe } from './runner.js';

const linuxDpkg = process.platform === 'linux' && existsSync('/usr/bin/dpkg-query');
const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
const probe = (name: string) => probesFor('linux').find((p) => p.probe.name === name)!;
/** apt pointed at a fixture state under `dir` (never the system's). */
const aptFixtureOptions = (dir: string) => [
  `Dir::State=${join(dir, 'state')}`,
  `Dir::State::status=${join(dir, 'status')}`,
  `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
  `Dir::Etc::SourceParts=${join(dir, 'parts')}`,
  `Dir::Etc::Preferences=${join(dir, 'preferences')}`,
  `Dir::Etc::PreferencesParts=${join(dir, 'prefs')}`,
  `Dir::Cache=${join(dir, 'cache')}`,
];
/** The real context, recording the commands it runs. */
const countingContext = (options: Parameters<typeof systemProbeContext>[0], calls: string[]): ProbeContext => {
  const real = systemProbeContext(options);
  return {
    ...real,
    exec: (cmd, args, o) => {
      calls.push(cmd);
      return real.exec(cmd, args, o);
    },
  };
};
/** `apt list --upgradable` as `name/suites candidate arch installed` lines. */
const aptList = (options: string[]) =>
  sh('apt', [...options.flatMap((o) => ['-o', o]), 'list', '--upgradable'])
    .split('\n')
    .map((l) => /^([^/\s]+)\/(\S+) (\S+) (\S+) \[upgradable from: ([^\]]+)\]/.exec(l))
    .filter((m) => m !== null)
    .map((m) => `${m[1]}/${m[2]} ${m[3]} ${m[4]} ${m[5]}`)
    .sort();
/** The agent's own answer in the same form. */
const nativeList = async (options: string[]) => {
  const dump = sh('apt-config', [...options.flatMap((o) => ['-o', o]), 'dump']);
  const c = parseAptConfig(dump);
  const r = await aptUpgradableNative(
    aptPathsFrom(dump, (k) => aptDir(c, k)),
    60_000,
  );
  return r.ok
    ? r.upgrades.map((u) => `${u.name}/${u.suites.sort().join(',')} ${u.candidate} ${u.arch} ${u.installed}`).sort()
    : r.reason;
};

describe.runIf(linuxDpkg)('Linux probes against the system tools', () => {
  it('installed_software equals dpkg-query -W (names, versions, architectures), nothing else from dpkg', async () => {
    const r = await runProbe(probe('installed_software'), systemProbeContext());
    if (!r.ok) throw new Error(r.message);
    const mine = r.rows
      .filter((x) => x.source === 'dpkg')
      .map((x) => `${x.name}\t${x.version}\t${x.arch}`)
      .sort();
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's ${Field} syntax.
    const theirs = sh('dpkg-query', ['-W', '-f', '${Package}\t${Version}\t${Architecture}\n'])
      .trim()
      .split('\n')
      .sort();
    expect(mine).toEqual(theirs);
    expect(mine.length).toBe(sh('dpkg-query', ['-W']).trim().split('\n').length);
    const sample = r.rows.find((x) => x.name === 'dpkg')!;
    expect(sample.install_date).toBeGreaterThan(Date.UTC(2000, 0, 1));
  });

  it('cpu available processors equal nproc; memory total equals MemTotal', async () => {
    const ctx = systemProbeContext();
    const cpu = await runProbe(probe('cpu'), ctx);
    const mem = await runProbe(probe('memory'), ctx);
    if (!cpu.ok || !mem.ok) throw new Error('probe failed');
    expect(cpu.rows[0]!.available_processors).toBe(Number(sh('nproc', []).trim()));
    expect(cpu.rows[0]!.logical_processors).toBe(Number(sh('nproc', ['--all']).trim()));
    const kb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
    expect(mem.rows.find((x) => x.kind === 'total')!.size_bytes).toBe(kb * 1024);
  });

  it('every probe returns rows that validate, or a coded error, and never throws', async () => {
    const ctx = systemProbeContext();
    for (const p of probesFor('linux')) {
      const r = await runProbe(p, ctx);
      if (r.ok) expect(r.hash).toMatch(/^[A-Za-z0-9_-]{32}$/);
      else expect(r.code).toMatch(/^OUTPOST_E_PROBE_/);
    }
  });

  it.runIf(existsSync('/usr/bin/apt'))(
    'this machine: the agent’s own upgradable list equals `apt list --upgradable` (suites, versions, architectures)',
    async () => {
      const mine = await nativeList([]);
      expect(mine).toEqual(aptList([])); // a string here is the reason the agent would have asked apt
    },
  );

  describe.runIf(existsSync('/usr/bin/apt') && process.getuid?.() === 0)(
    'apt policy: pins, NotAutomatic archives, downgrades — the agent agrees with apt or asks it',
    () => {
      let dir = '';
      let options: string[] = [];
      const record = (name: string, version: string) =>
        `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: Outpost <dev@outpost.invalid>\nDescription: fixture\n`;
      /** A flat repository with a Release file (apt reads NotAutomatic and pins' release fields from it). */
      const repo = (name: string, release: string, pkgs: [string, string][]) => {
        const root = join(dir, name);
        mkdirSync(root);
        const packages = `${pkgs.map(([n, v]) => record(n, v)).join('\n')}\n`;
        writeFileSync(join(root, 'Packages'), packages);
        const sha = createHash('sha256').update(packages).digest('hex');
        writeFileSync(
          join(root, 'Release'),
          `${release}Date: Sat, 01 Nov 2025 00:00:00 UTC\nSHA256:\n ${sha} ${Buffer.byteLength(packages)} Packages\n`,
        );
        return `deb [trusted=yes] file:${root} ./`;
      };
      beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), 'outpost-apt-policy-'));
        for (const d of ['state/lists/partial', 'cache/archives/partial', 'parts', 'prefs'])
          mkdirSync(join(dir, d), { recursive: true });
        const installed: [string, string][] = [
          ['opt-plain', '1.0-1'],
          ['opt-backport', '1.0-1'],
          ['opt-pinned', '1.0-1'],
          ['opt-auto-backport', '1.0-1'],
          ['opt-newer-here', '2.0-1'],
          ['opt-security', '1.0-1'],
        ];
        writeFileSync(
          join(dir, 'status'),
          installed
            .map(([n, v]) => record(n, v).replace('Version:', 'Status: install ok installed\nVersion:'))
            .join('\n'),
        );
        const sources = [
          repo('main', 'Origin: Outpost\nLabel: Outpost\nSuite: stable\nCodename: trixie\n', [
            ['opt-plain', '1.1-1'],
            ['opt-newer-here', '1.5-1'],
            ['opt-backport', '1.1-1'],
          ]),
          repo('backports', 'Origin: Outpost\nSuite: stable-backports\nNotAutomatic: yes\n', [
            ['opt-backport', '3.0-1'],
            ['opt-pinned', '3.0-1'],
          ]),
          repo(
            'autobp',
            'Origin: Outpost\nSuite: stable-backports-auto\nNotAutomatic: yes\nButAutomaticUpgrades: yes\n',
            [['opt-auto-backport', '4.0-1']],
          ),
          repo('sec', 'Origin: Outpost\nSuite: stable-security\nCodename: trixie-security\n', [
            ['opt-security', '1.0-1+sec1'],
            ['opt-plain', '1.1-1'],
          ]),
        ];
        writeFileSync(join(dir, 'sources.list'), `${sources.join('\n')}\n`);
        // The pin lifts opt-pinned's backport above the installed version; apt reads files without an extension.
        writeFileSync(
          join(dir, 'prefs/outpost'),
          'Explanation: take this one from backports\nPackage: opt-pinned\nPin: release a=stable-backports\nPin-Priority: 600\n',
        );
        options = aptFixtureOptions(dir);
        sh('apt-get', [...options.flatMap((o) => ['-o', o]), '-q', 'update']);
      });
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('computes what apt computes, without running apt', async () => {
        const theirs = aptList(options);
        expect(theirs).toEqual([
          'opt-auto-backport/stable-backports-auto 4.0-1 all 1.0-1',
          'opt-backport/stable 1.1-1 all 1.0-1',
          'opt-pinned/stable-backports 3.0-1 all 1.0-1',
          'opt-plain/stable,stable-security 1.1-1 all 1.0-1',
          'opt-security/stable-security 1.0-1+sec1 all 1.0-1',
        ]);
        expect(await nativeList(options)).toEqual(theirs);
        const calls: string[] = [];
        const r = await runProbe(probe('pending_patches'), countingContext({ aptOptions: options }, calls));
        if (!r.ok) throw new Error(r.message);
        expect(calls).not.toContain('apt');
        const security = r.rows.filter((x) => x.security).map((x) => x.name);
        expect(security.sort()).toEqual(['opt-plain', 'opt-security']);
      });

      it('a pin it does not model (`Package: *`) or a stale index: it asks apt, and the answer is still apt’s', async () => {
        writeFileSync(join(dir, 'preferences'), 'Package: *\nPin: release a=stable-backports\nPin-Priority: 550\n');
        try {
          expect(await nativeList(options)).toMatch(/left to apt/);
          const calls: string[] = [];
          const r = await runProbe(probe('pending_patches'), countingContext({ aptOptions: options }, calls));
          if (!r.ok) throw new Error(r.message);
          expect(calls).toContain('apt');
          const rows = r.rows
            .filter((x) => x.kind === 'update')
            .map((x) => `${x.name} ${x.candidate_version}`)
            .sort();
          expect(rows).toEqual(aptList(options).map((l) => `${l.split('/')[0]} ${l.split(' ')[1]}`));
          expect(rows).toContain('opt-backport 3.0-1'); // the general pin lifted every backport above the installed
        } finally {
          rmSync(join(dir, 'preferences'));
        }
        // An index no source names any more (a removed source before `apt update`): apt's view may differ.
        writeFileSync(join(dir, 'state/lists/example.org_gone_dists_x_main_binary-amd64_Packages'), '');
        try {
          expect(await nativeList(options)).toMatch(/not named by any source/);
        } finally {
          rmSync(join(dir, 'state/lists/example.org_gone_dists_x_main_binary-amd64_Packages'));
        }
      });
    },
  );

  describe.runIf(existsSync('/usr/bin/apt') && existsSync('/usr/bin/dpkg-deb') && process.getuid?.() === 0)(
    'pending_patches with a fixture apt repository',
    () => {
      let dir = '';
      let options: string[] = [];
      const control = (name: string, version: string) =>
        `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: Outpost <dev@outpost.invalid>\nInstalled-Size: 1\nSection: misc\nPriority: optional\nDescription: Outpost inventory test fixture\n`;
      beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), 'outpost-apt-'));
        for (const d of [
          'state/lists/partial',
          'cache/archives/partial',
          'parts',
          'prefs',
          'repo',
          'pkg/DEBIAN',
          'pkg2/DEBIAN',
        ])
          mkdirSync(join(dir, d), { recursive: true });
        // Installed: two fake packages at 1.0-1 (in a temp dpkg status file, never the system's).
        writeFileSync(
          join(dir, 'status'),
          ['outpost-fixture-a', 'outpost-fixture-b']
            .map((n) => control(n, '1.0-1').replace('Version:', 'Status: install ok installed\nVersion:'))
            .join('\n'),
        );
        // The repository: a newer outpost-fixture-a only.
        writeFileSync(join(dir, 'pkg/DEBIAN/control'), control('outpost-fixture-a', '1.1-1'));
        sh('dpkg-deb', [
          '--build',
          '--root-owner-group',
          join(dir, 'pkg'),
          join(dir, 'repo/outpost-fixture-a_1.1-1_all.deb'),
        ]);
        const deb = readFileSync(join(dir, 'repo/outpost-fixture-a_1.1-1_all.deb'));
        writeFileSync(
          join(dir, 'repo/Packages'),
          `${control('outpost-fixture-a', '1.1-1')}Filename: ./outpost-fixture-a_1.1-1_all.deb\nSize: ${statSync(join(dir, 'repo/outpost-fixture-a_1.1-1_all.deb')).size}\nSHA256: ${createHash('sha256').update(deb).digest('hex')}\n\n`,
        );
        writeFileSync(join(dir, 'sources.list'), `deb [trusted=yes] file:${join(dir, 'repo')} ./\n`);
        options = aptFixtureOptions(dir);
        sh('apt-get', [...options.flatMap((o) => ['-o', o]), '-q', 'update']);
      });
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('equals `apt list --upgradable` and `apt-get -s dist-upgrade` for the same state, without running apt', async () => {
        const calls: string[] = [];
        const r = await runProbe(probe('pending_patches'), countingContext({ aptOptions: options }, calls));
        expect(calls).not.toContain('apt'); // computed by the agent from apt's files
        if (!r.ok) throw new Error(r.message);
        const mine = r.rows
          .filter((x) => x.kind === 'update')
          .map((x) => `${x.name} ${x.installed_version} -> ${x.candidate_version}`)
          .sort();
        expect(mine).toEqual(['outpost-fixture-a 1.0-1 -> 1.1-1']);
        const listed = sh('apt', [...options.flatMap((o) => ['-o', o]), 'list', '--upgradable'])
          .split('\n')
          .map((l) => /^([^/\s]+)\/\S+ (\S+) \S+ \[upgradable from: ([^\]]+)\]/.exec(l))
          .filter((m) => m !== null)
          .map((m) => `${m[1]} ${m[3]} -> ${m[2]}`)
          .sort();
        expect(mine).toEqual(listed);
        const simulated = sh('apt-get', [
          ...options.flatMap((o) => ['-o', o]),
          '-o',
          'Debug::NoLocking=1',
          '-s',
          'dist-upgrade',
        ])
          .split('\n')
          .map((l) => /^Inst (\S+) \[([^\]]+)\] \((\S+)/.exec(l))
          .filter((m) => m !== null)
          .map((m) => `${m[1]} ${m[2]} -> ${m[3]}`)
          .sort();
        expect(mine).toEqual(simulated);
        expect(await nativeList(options)).toEqual(aptList(options)); // suites and architecture too
      });

      it('caches the answer under a fingerprint of apt’s inputs: a repeat run reuses it, a change recomputes it', async () => {
        const cacheDir = join(dir, 'agent-state');
        mkdirSync(cacheDir);
        const ctx = systemProbeContext({ aptOptions: options, cacheDir });
        const cacheFile = join(cacheDir, 'inventory-cache.json');
        const updates = async () => {
          const r = await runProbe(probe('pending_patches'), ctx);
          if (!r.ok) throw new Error(r.message);
          return r.rows
            .filter((x) => x.kind === 'update')
            .map((x) => `${x.name} ${x.installed_version} -> ${x.candidate_version}`)
            .sort();
        };
        // Marks the stored answer: a run that returns the mark was served from the cache.
        const markCache = () => {
          const c = JSON.parse(readFileSync(cacheFile, 'utf8'));
          c.entries['apt-upgradable'].value = [
            { ...c.entries['apt-upgradable'].value[0], name: 'from-the-cache', candidate_version: '9' },
          ];
          writeFileSync(cacheFile, JSON.stringify(c));
        };
        expect(await updates()).toEqual(['outpost-fixture-a 1.0-1 -> 1.1-1']);
        markCache();
        expect(await updates()).toEqual(['from-the-cache 1.0-1 -> 9']); // inputs unchanged: served from the cache

        // `apt update` with a newer fixture-b in the repository: the lists change, the answer is recomputed.
        writeFileSync(join(dir, 'pkg2/DEBIAN/control'), control('outpost-fixture-b', '2.0-1'));
        const debB = join(dir, 'repo/outpost-fixture-b_2.0-1_all.deb');
        sh('dpkg-deb', ['--build', '--root-owner-group', join(dir, 'pkg2'), debB]);
        const b = readFileSync(debB);
        writeFileSync(
          join(dir, 'repo/Packages'),
          `${readFileSync(join(dir, 'repo/Packages'), 'utf8')}${control('outpost-fixture-b', '2.0-1')}Filename: ./outpost-fixture-b_2.0-1_all.deb\nSize: ${b.length}\nSHA256: ${createHash('sha256').update(b).digest('hex')}\n\n`,
        );
        sh('apt-get', [...options.flatMap((o) => ['-o', o]), '-q', 'update']);
        expect(await updates()).toEqual(['outpost-fixture-a 1.0-1 -> 1.1-1', 'outpost-fixture-b 1.0-1 -> 2.0-1']);
        expect(await nativeList(options)).toEqual(aptList(options));
        markCache();

        // A package change (the dpkg status file) recomputes it too: fixture-a now installed at 1.1-1.
        const status = readFileSync(join(dir, 'status'), 'utf8');
        writeFileSync(
          join(dir, 'status'),
          status.replace(/(Package: outpost-fixture-a\n[\s\S]*?Version: )1\.0-1/, (_, head: string) => `${head}1.1-1`),
        );
        expect(await updates()).toEqual(['outpost-fixture-b 1.0-1 -> 2.0-1']);

        // A damaged cache file is a miss, never a crash or invented rows.
        writeFileSync(cacheFile, '{"version":1,"entries":{"apt-upgradable":{"fingerprint":"x","value":[1]}}}');
        expect(await updates()).toEqual(['outpost-fixture-b 1.0-1 -> 2.0-1']);
      });
    },
  );
});
