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
import { systemProbeContext } from './exec.js';
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
        options = [
          `Dir::State=${join(dir, 'state')}`,
          `Dir::State::status=${join(dir, 'status')}`,
          `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
          `Dir::Etc::SourceParts=${join(dir, 'parts')}`,
          `Dir::Etc::PreferencesParts=${join(dir, 'prefs')}`,
          `Dir::Cache=${join(dir, 'cache')}`,
        ];
        sh('apt-get', [...options.flatMap((o) => ['-o', o]), '-q', 'update']);
      });
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('equals `apt list --upgradable` and `apt-get -s dist-upgrade` for the same state', async () => {
        const r = await runProbe(probe('pending_patches'), systemProbeContext({ aptOptions: options }));
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
      });

      it('caches apt’s answer under a fingerprint of its inputs: a repeat run skips apt, a change re-runs it', async () => {
        const cacheDir = join(dir, 'agent-state');
        mkdirSync(cacheDir);
        const real = systemProbeContext({ aptOptions: options, cacheDir });
        const calls: string[] = [];
        // The real context, counting the commands it runs.
        const ctx = {
          ...real,
          exec: (cmd: string, args: string[], o?: Parameters<typeof real.exec>[2]) => {
            calls.push(cmd);
            return real.exec(cmd, args, o);
          },
        };
        const updates = async () => {
          const r = await runProbe(probe('pending_patches'), ctx);
          if (!r.ok) throw new Error(r.message);
          return r.rows
            .filter((x) => x.kind === 'update')
            .map((x) => `${x.name} ${x.installed_version} -> ${x.candidate_version}`)
            .sort();
        };
        expect(await updates()).toEqual(['outpost-fixture-a 1.0-1 -> 1.1-1']);
        expect(calls.filter((c) => c === 'apt')).toHaveLength(1);
        expect(await updates()).toEqual(['outpost-fixture-a 1.0-1 -> 1.1-1']);
        expect(calls.filter((c) => c === 'apt')).toHaveLength(1); // served from the cache

        // `apt update` with a newer fixture-b in the repository: the lists change, apt runs again.
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
        expect(calls.filter((c) => c === 'apt')).toHaveLength(2);

        // A package change (the dpkg status file) re-runs apt too: fixture-a now installed at 1.1-1.
        const status = readFileSync(join(dir, 'status'), 'utf8');
        writeFileSync(
          join(dir, 'status'),
          status.replace(/(Package: outpost-fixture-a\n[\s\S]*?Version: )1\.0-1/, (_, head: string) => `${head}1.1-1`),
        );
        expect(await updates()).toEqual(['outpost-fixture-b 1.0-1 -> 2.0-1']);
        expect(calls.filter((c) => c === 'apt')).toHaveLength(3);

        // A damaged cache file is a miss, never a crash or invented rows.
        writeFileSync(
          join(cacheDir, 'inventory-cache.json'),
          '{"version":1,"entries":{"apt-upgradable":{"fingerprint":"x","value":[1]}}}',
        );
        expect(await updates()).toEqual(['outpost-fixture-b 1.0-1 -> 2.0-1']);
        expect(calls.filter((c) => c === 'apt')).toHaveLength(4);
      });
    },
  );
});
