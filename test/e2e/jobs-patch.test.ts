/**
 * A patch job on this machine against a fixture apt repository (docs/0010-jobs.md): a real agent with the inventory
 * on, apt and dpkg pointed at a temp root (config `packages`: `Dir=<root>`, `dpkg --root`), never the system's. The
 * fixture package's postinst writes `<root>/var/run/reboot-required`, as Debian packages do in /var/run. The job
 * upgrades the package, the agent reports reboot-required, and the stored inventory's pending patches drop at once.
 * Needs root, apt-get and dpkg-deb; skips saying so otherwise.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentInstall, enrollAgent, runAgent } from '../support/agent.js';
import { ProcessCleanup, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';

const canRun =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  existsSync('/usr/bin/apt-get') &&
  existsSync('/usr/bin/dpkg-deb') &&
  existsSync('/usr/bin/dpkg');
if (!canRun) console.warn('jobs-patch: skipped — needs Linux, root, apt-get, dpkg and dpkg-deb');

type Row = Record<string, unknown>;
type Inv = { probes: { probe: string; rows: Row[] }[] };
type Job = {
  id: string;
  targets: {
    state: string;
    rebootRequired: boolean;
    exitCode: number | null;
    outputHead: string;
    outputTail: string;
    reason: string;
  }[];
};

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const control = (version: string) =>
  `Package: outpost-fixture-a\nVersion: ${version}\nArchitecture: all\nMaintainer: Outpost <dev@outpost.invalid>\nInstalled-Size: 1\nSection: misc\nPriority: optional\nDescription: Outpost jobs test fixture\n`;

describe.runIf(canRun)('a patch job against the fixture apt repository', () => {
  let c: TestCollector;
  const dir = tempDir('jobs-patch');
  const cleanup = new ProcessCleanup();
  const root = join(dir.path, 'root');
  let aptOptions: string[] = [];

  beforeAll(async () => {
    for (const d of [
      'var/lib/dpkg/updates',
      'var/lib/dpkg/info',
      'var/lib/apt/lists/partial',
      'var/cache/apt/archives/partial',
      'etc/apt/sources.list.d',
      'etc/apt/preferences.d',
      'var/log/apt',
      'var/run',
    ])
      mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    writeFileSync(join(root, 'var/lib/dpkg/available'), '');
    const build = (version: string, postinst?: string) => {
      const pkg = join(dir.path, `pkg-${version}`);
      mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
      writeFileSync(join(pkg, 'DEBIAN/control'), control(version));
      if (postinst) {
        writeFileSync(join(pkg, 'DEBIAN/postinst'), postinst);
        chmodSync(join(pkg, 'DEBIAN/postinst'), 0o755);
      }
      const deb = join(dir.path, `outpost-fixture-a_${version}_all.deb`);
      sh('dpkg-deb', ['--build', '--root-owner-group', pkg, deb]);
      return deb;
    };
    // Installed: 1.0-1 (into the temp root's dpkg database).
    sh('dpkg', ['--root', root, '--force-script-chrootless', '-i', build('1.0-1')]);
    // The repository: 1.1-1, whose postinst asks for a reboot the Debian way.
    mkdirSync(join(dir.path, 'repo'));
    const deb = build(
      '1.1-1',
      '#!/bin/sh\nset -e\nmkdir -p "$DPKG_ROOT/var/run"\necho outpost-fixture-a >> "$DPKG_ROOT/var/run/reboot-required.pkgs"\ntouch "$DPKG_ROOT/var/run/reboot-required"\n',
    );
    const inRepo = join(dir.path, 'repo', 'outpost-fixture-a_1.1-1_all.deb');
    writeFileSync(inRepo, readFileSync(deb));
    writeFileSync(
      join(dir.path, 'repo/Packages'),
      `${control('1.1-1')}Filename: ./outpost-fixture-a_1.1-1_all.deb\nSize: ${statSync(inRepo).size}\nSHA256: ${createHash('sha256').update(readFileSync(inRepo)).digest('hex')}\n\n`,
    );
    writeFileSync(join(root, 'etc/apt/sources.list'), `deb [trusted=yes] file:${join(dir.path, 'repo')} ./\n`);
    aptOptions = [
      `Dir=${root}`,
      'Dir::Bin::dpkg=/usr/bin/dpkg',
      `DPkg::Options::=--root=${root}`,
      'DPkg::Options::=--force-script-chrootless',
      `Dir::Log=${join(root, 'var/log/apt')}`,
    ];
    sh('apt-get', [...aptOptions.flatMap((o) => ['-o', o]), '-q', 'update']);
    c = await startTestCollector();
  });
  afterAll(async () => {
    await cleanup[Symbol.asyncDispose]();
    await c?.[Symbol.asyncDispose]();
    dir[Symbol.dispose]();
  });

  it('upgrades the package, detects reboot-required, and the stored pending patches drop at once', async () => {
    const install = agentInstall(join(dir.path, 'agent'), { inventory: true });
    const e = await enrollAgent(install, c.apiUrl, (await c.enrollmentToken()).token, c.fingerprint);
    expect(e.code).toBe(0);
    const agentId = /enrolled as (ag_[0-9a-f]{24})/.exec(e.out)![1]!;
    const config = JSON.parse(readFileSync(install.configFile, 'utf8')) as Row;
    writeFileSync(install.configFile, JSON.stringify({ ...config, packages: { aptOptions, rootDir: root } }));
    cleanup.use(runAgent(install));

    const patches = async () =>
      (await apiCall<Inv>(c.admin, 'GET', `/api/v1/agents/${agentId}/inventory?probe=pending_patches`)).probes.find(
        (p) => p.probe === 'pending_patches',
      )?.rows ?? [];
    const fixture = (rows: Row[]) => rows.filter((r) => r.name === 'outpost-fixture-a' && r.kind === 'update');
    await expect.poll(async () => fixture(await patches()).length, { timeout: 30_000 }).toBe(1);
    expect(fixture(await patches())[0]).toMatchObject({ installed_version: '1.0-1', candidate_version: '1.1-1' });

    const job = await apiCall<Job>(c.admin, 'POST', '/api/v1/jobs', {
      spec: { kind: 'patch' },
      target: { siteId: c.siteId },
      reboot: { policy: 'never', delayMin: 0, message: '' },
    });
    expect(job.targets).toHaveLength(1);
    await expect
      .poll(async () => (await apiCall<Job>(c.admin, 'GET', `/api/v1/jobs/${job.id}`)).targets[0]!.state, {
        timeout: 60_000,
      })
      .toBe('succeeded');
    const t = (await apiCall<Job>(c.admin, 'GET', `/api/v1/jobs/${job.id}`)).targets[0]!;
    expect(t.exitCode).toBe(0);
    expect(t.rebootRequired).toBe(true);
    expect(`${t.outputHead}${t.outputTail}`).toMatch(/Unpacking outpost-fixture-a \(1\.1-1\) over \(1\.0-1\)/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template.
    const format = '${Version}';
    expect(
      sh('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', format, 'outpost-fixture-a']),
    ).toBe('1.1-1');
    expect(existsSync(join(root, 'var/run/reboot-required'))).toBe(true);
    // The agent sent a fresh inventory after the job: the update is gone, the reboot is pending.
    await expect.poll(async () => fixture(await patches()).length, { timeout: 20_000 }).toBe(0);
    expect(
      (await patches()).some((r) => r.kind === 'reboot_required' && String(r.name).includes('outpost-fixture-a')),
    ).toBe(true);
  });
});
