/**
 * The installers (scripts/package/installers/): .deb and .rpm inspected with dpkg-deb and rpm, the .deb installed,
 * upgraded, removed and purged for real by dpkg into a throwaway root, the rpm scriptlets run in a temp root, the
 * Windows service host compiled and its pure logic driven natively, the .msi's tables read with msiinfo, and the
 * service host's contract with the agent (stop channel, enrollment from the registry) run against a real collector.
 * The builders take any executable: a small script stands in for the agent and records how it was called.
 * Each part skips, saying why, when its tool (dpkg-deb, rpmbuild, mingw-w64, wixl/msitools, gcc) is missing.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { enrollFromRegistry, type RegistryAccess, readAgentConfig } from '@outpost/agent';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolMissing } from '../../scripts/package/installers/common.js';
import { buildDeb } from '../../scripts/package/installers/deb.js';
import { buildMsi, UPGRADE_CODE } from '../../scripts/package/installers/msi.js';
import { buildRpm, rpmScriptlets } from '../../scripts/package/installers/rpm.js';
import { buildServiceCoreCli, buildServiceHost } from '../../scripts/package/installers/svc.js';
import { agentInstall, enrollAgent } from '../support/agent.js';
import { agentBin, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';

const EPOCH = 1_700_000_000;
const dir = tempDir('installers');
const fakeAgent = join(dir.path, 'fake-agent');
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const isRoot = process.getuid?.() === 0;

/** A builder's result, or why it could not run here (a missing tool). */
type Built = { file: string } | { skip: string };
function attempt(build: () => string): Built {
  try {
    return { file: build() };
  } catch (err) {
    if (err instanceof ToolMissing) return { skip: err.message };
    throw err;
  }
}
const built: Record<string, Built> = {};
/** The file, or skips the test saying why. */
function need(ctx: { skip(note?: string): void }, name: string): string {
  const b = built[name];
  if (!b || 'skip' in b) {
    const why = b && 'skip' in b ? b.skip : `${name} was not built`;
    console.warn(`SKIPPED ${name}: ${why}`);
    ctx.skip(why);
    throw new Error('unreachable');
  }
  return b.file;
}
const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });

beforeAll(() => {
  // The stand-in agent: records its arguments, exits with OUTPOST_FAKE_EXIT.
  writeFileSync(
    fakeAgent,
    '#!/bin/sh\nlog=$OUTPOST_FAKE_LOG\n[ -n "$log" ] || log=/dev/null\necho "$0 $*" >> "$log"\nexit $((OUTPOST_FAKE_EXIT + 0))\n',
  );
  chmodSync(fakeAgent, 0o755);
  const input = (v: string, platform: string, out: string) => ({
    executable: fakeAgent,
    version: v,
    platform,
    outDir: join(dir.path, out),
    epoch: EPOCH,
  });
  built.deb = attempt(() => buildDeb(input('0.1.0', 'linux-x64', 'a')));
  built.debAgain = attempt(() => buildDeb(input('0.1.0', 'linux-x64', 'b')));
  built.deb2 = attempt(() => buildDeb(input('0.2.0', 'linux-x64', 'c')));
  built.rpm = attempt(() => buildRpm(input('0.1.0', 'linux-x64', 'a')));
  built.rpmAgain = attempt(() => buildRpm(input('0.1.0', 'linux-x64', 'b')));
  built.rpmArm = attempt(() => buildRpm(input('0.1.0', 'linux-arm64', 'a')));
  built.svc = attempt(() => buildServiceHost(join(dir.path, 'a'), '0.1.0', EPOCH));
  built.svcAgain = attempt(() => buildServiceHost(join(dir.path, 'b'), '0.1.0', EPOCH));
  built.core = attempt(() => buildServiceCoreCli(join(dir.path, 'core')));
  const svc = built.svc;
  if ('file' in svc) {
    built.msi = attempt(() => buildMsi({ ...input('0.1.0', 'win-x64', 'a'), serviceHost: svc.file }));
    const svcAgain = built.svcAgain;
    if ('file' in svcAgain) {
      built.msiAgain = attempt(() => buildMsi({ ...input('0.1.0', 'win-x64', 'b'), serviceHost: svcAgain.file }));
    }
  } else {
    built.msi = svc;
  }
}, 120_000);
afterAll(() => dir[Symbol.dispose]());

describe('.deb', () => {
  it('carries the executable under /opt/outpost/versions/<v>/, root-owned, dated SOURCE_DATE_EPOCH', (ctx) => {
    const deb = need(ctx, 'deb');
    const info = run('dpkg-deb', ['-I', deb]).stdout;
    expect(info).toMatch(/^ Package: outpost-agent$/m);
    expect(info).toMatch(/^ Version: 0\.1\.0$/m);
    expect(info).toMatch(/^ Architecture: amd64$/m);
    expect(info).toMatch(/^ Depends: libc6 \(>= 2\.28\), libatomic1$/m);
    for (const s of ['postinst', 'prerm', 'postrm'])
      expect(info).toMatch(new RegExp(`^ +\\d+ bytes, +\\d+ lines +\\* +${s} +#!/bin/sh$`, 'm'));
    const contents = run('dpkg-deb', ['-c', deb]).stdout;
    expect(contents).toMatch(
      /^-rwxr-xr-x root\/root +\d+ 2023-11-14 22:13 \.\/opt\/outpost\/versions\/0\.1\.0\/outpost-agent$/m,
    );
    // Nothing else: no /etc file that dpkg would treat as a conffile, no `current` link (the scripts own it).
    expect(
      contents
        .trim()
        .split('\n')
        .map((l) => l.split(/ +/).at(-1)),
    ).toEqual([
      './',
      './opt/',
      './opt/outpost/',
      './opt/outpost/versions/',
      './opt/outpost/versions/0.1.0/',
      './opt/outpost/versions/0.1.0/outpost-agent',
    ]);
  });

  it('is reproducible: two builds from different directories give the same bytes', (ctx) => {
    expect(sha(need(ctx, 'deb'))).toBe(sha(need(ctx, 'debAgain')));
  });

  describe('installed by dpkg into a throwaway root', () => {
    /** A root with an empty dpkg database; dpkg runs the scripts outside it with DPKG_ROOT set. */
    function newRoot(name: string) {
      const root = join(dir.path, 'roots', name);
      for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'etc/outpost']) {
        mkdirSync(join(root, d), { recursive: true });
      }
      writeFileSync(join(root, 'var/lib/dpkg/status'), '');
      const log = join(root, 'agent-calls.log');
      const dpkg = (args: string[], env: NodeJS.ProcessEnv = {}) =>
        run('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', ...args], {
          OUTPOST_FAKE_LOG: log,
          ...env,
        });
      const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
      return { root, dpkg, calls };
    }
    const skipUnlessRoot = (ctx: { skip(note?: string): void }) => {
      if (!isRoot) {
        console.warn('SKIPPED dpkg --root install: needs root (dpkg refuses to install otherwise)');
        ctx.skip('needs root');
      }
    };

    it('enrolls once from /etc/outpost/install.env, deletes it, points current at the version', (ctx) => {
      const deb = need(ctx, 'deb');
      skipUnlessRoot(ctx);
      const r = newRoot('env-file');
      const envFile = join(r.root, 'etc/outpost/install.env');
      writeFileSync(
        envFile,
        `# written by the fleet tool\nOUTPOST_SERVER="https://c.example:8443"\nOUTPOST_TOKEN=oet_secret\nOUTPOST_CA_FINGERPRINT=AB:CD\nOUTPOST_UPDATE_ROOT_SHA256='${'ab'.repeat(32)}'\n`,
      );
      chmodSync(envFile, 0o644);
      const res = r.dpkg(['-i', deb]);
      expect(res.status, res.stderr).toBe(0);
      const exe = join(r.root, 'opt/outpost/versions/0.1.0/outpost-agent');
      expect(r.calls()).toEqual([
        `${exe} install --server https://c.example:8443 --token oet_secret --ca-fingerprint AB:CD --update-root-sha256 ${'ab'.repeat(32)} --silent`,
      ]);
      expect(existsSync(envFile)).toBe(false);
      // Left readable by others: said so (the token is gone either way).
      expect(res.stderr).toContain('was readable by other users');
      expect(res.stderr).not.toContain('oet_secret');
      expect(readlinkSync(join(r.root, 'opt/outpost/current'))).toBe('versions/0.1.0');
      expect(statSync(exe).mode & 0o777).toBe(0o755);
      const status = run('dpkg-query', [`--root=${r.root}`, '-s', 'outpost-agent']).stdout;
      expect(status).toMatch(/^Status: install ok installed$/m);
      expect(status).toMatch(/^Version: 0\.1\.0$/m);
    });

    it('takes OUTPOST_SERVER/TOKEN/CA_FINGERPRINT from the environment over the file', (ctx) => {
      const deb = need(ctx, 'deb');
      skipUnlessRoot(ctx);
      const r = newRoot('env-vars');
      writeFileSync(join(r.root, 'etc/outpost/install.env'), 'OUTPOST_SERVER=https://old\nOUTPOST_TOKEN=old\n', {
        mode: 0o600,
      });
      const res = r.dpkg(['-i', deb], {
        OUTPOST_SERVER: 'https://new.example',
        OUTPOST_TOKEN: 'oet_new',
        OUTPOST_CA_FINGERPRINT: '',
      });
      expect(res.status, res.stderr).toBe(0);
      expect(r.calls()).toEqual([
        `${join(r.root, 'opt/outpost/versions/0.1.0/outpost-agent')} install --server https://new.example --token oet_new --silent`,
      ]);
      expect(res.stderr).not.toContain('readable by other users');
      expect(existsSync(join(r.root, 'etc/outpost/install.env'))).toBe(false);
    });

    it('without credentials only places the files and says how to enroll', (ctx) => {
      const deb = need(ctx, 'deb');
      skipUnlessRoot(ctx);
      const r = newRoot('no-creds');
      const res = r.dpkg(['-i', deb]);
      expect(res.status, res.stderr).toBe(0);
      expect(r.calls()).toEqual([]);
      expect(res.stderr).toContain('not enrolled. Enroll and start the service with:');
      expect(res.stderr).toContain('/opt/outpost/current/outpost-agent install --server URL --token TOKEN');
    });

    it('a failed enrollment fails the install with the exit code, and the token is still deleted', (ctx) => {
      const deb = need(ctx, 'deb');
      skipUnlessRoot(ctx);
      const r = newRoot('enroll-fails');
      writeFileSync(join(r.root, 'etc/outpost/install.env'), 'OUTPOST_SERVER=https://x\nOUTPOST_TOKEN=t\n', {
        mode: 0o600,
      });
      const res = r.dpkg(['-i', deb], { OUTPOST_FAKE_EXIT: '3' });
      expect(res.status).not.toBe(0);
      expect(res.stderr).toContain('enrolling with https://x failed (exit 3');
      expect(existsSync(join(r.root, 'etc/outpost/install.env'))).toBe(false);
      // Configuring again (no token left) succeeds and leaves the package installed, not enrolled.
      const again = r.dpkg(['--configure', 'outpost-agent']);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stderr).toContain('not enrolled');
    });

    it('upgrades in place: current moves to the new version, the enrolled identity stays, nothing re-enrolls', (ctx) => {
      const deb = need(ctx, 'deb');
      const deb2 = need(ctx, 'deb2');
      skipUnlessRoot(ctx);
      const r = newRoot('upgrade');
      expect(r.dpkg(['-i', deb]).status).toBe(0);
      writeFileSync(join(r.root, 'etc/outpost/agent.json'), '{"agentId":"a1"}');
      const res = r.dpkg(['-i', deb2]);
      expect(res.status, res.stderr).toBe(0);
      expect(readlinkSync(join(r.root, 'opt/outpost/current'))).toBe('versions/0.2.0');
      expect(existsSync(join(r.root, 'opt/outpost/versions/0.1.0'))).toBe(false);
      expect(existsSync(join(r.root, 'opt/outpost/versions/0.2.0/outpost-agent'))).toBe(true);
      expect(readFileSync(join(r.root, 'etc/outpost/agent.json'), 'utf8')).toBe('{"agentId":"a1"}');
      expect(r.calls()).toEqual([]);
      expect(res.stderr).not.toContain('not enrolled');
    });

    it('remove uninstalls the service and keeps identity; purge removes configuration and state', (ctx) => {
      const deb = need(ctx, 'deb');
      skipUnlessRoot(ctx);
      const r = newRoot('remove');
      expect(r.dpkg(['-i', deb]).status).toBe(0);
      writeFileSync(join(r.root, 'etc/outpost/agent.json'), '{}');
      mkdirSync(join(r.root, 'var/lib/outpost'), { recursive: true });
      writeFileSync(join(r.root, 'var/lib/outpost/agent.key'), 'k');
      // A version a self-update added beside the packaged one.
      mkdirSync(join(r.root, 'opt/outpost/versions/0.3.0'), { recursive: true });
      const removed = r.dpkg(['--remove', 'outpost-agent']);
      expect(removed.status, removed.stderr).toBe(0);
      expect(r.calls()).toEqual([`${join(r.root, 'opt/outpost/current/outpost-agent')} uninstall`]);
      expect(existsSync(join(r.root, 'opt/outpost'))).toBe(false);
      expect(existsSync(join(r.root, 'etc/outpost/agent.json'))).toBe(true);
      expect(existsSync(join(r.root, 'var/lib/outpost/agent.key'))).toBe(true);
      const purged = r.dpkg(['--purge', 'outpost-agent']);
      expect(purged.status, purged.stderr).toBe(0);
      expect(existsSync(join(r.root, 'etc/outpost'))).toBe(false);
      expect(existsSync(join(r.root, 'var/lib/outpost'))).toBe(false);
    });

    it('an uninstall that fails does not block the removal', (ctx) => {
      const deb = need(ctx, 'deb');
      skipUnlessRoot(ctx);
      const r = newRoot('uninstall-fails');
      expect(r.dpkg(['-i', deb]).status).toBe(0);
      const res = r.dpkg(['--purge', 'outpost-agent'], { OUTPOST_FAKE_EXIT: '1' });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stderr).toContain('uninstall failed (exit 1); continuing the removal');
      expect(existsSync(join(r.root, 'opt/outpost'))).toBe(false);
    });
  });
});

describe('.rpm', () => {
  it('lists the executable, root-owned 0755, with the scriptlets, for x86_64 and aarch64', (ctx) => {
    const rpm = need(ctx, 'rpm');
    const arm = need(ctx, 'rpmArm');
    const q = run('rpm', ['-qpil', '--scripts', rpm]).stdout;
    expect(q).toMatch(/^Name +: outpost-agent$/m);
    expect(q).toMatch(/^Version +: 0\.1\.0$/m);
    expect(q).toMatch(/^Architecture: x86_64$/m);
    expect(q).toMatch(/^Build Host +: reproducible$/m);
    expect(q).toMatch(/^\/opt\/outpost\/versions\/0\.1\.0\/outpost-agent$/m);
    for (const s of ['postinstall scriptlet', 'preuninstall scriptlet', 'postuninstall scriptlet']) {
      expect(q).toContain(s);
    }
    expect(q).toContain('outpost_configure');
    const modes = run('rpm', [
      '-qp',
      '--qf',
      '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILENAMES}\n]',
      rpm,
    ]);
    expect(modes.stdout).toContain('-rwxr-xr-x root root /opt/outpost/versions/0.1.0/outpost-agent');
    const requires = run('rpm', [
      '-qp',
      '--qf',
      '[%{REQUIRENAME} %{REQUIREFLAGS:depflags} %{REQUIREVERSION}\n]',
      rpm,
    ]).stdout;
    expect(requires).toContain('glibc >= 2.28');
    expect(requires).toMatch(/^libatomic\b/m);
    expect(run('rpm', ['-qp', '--qf', '%{ARCH} %{BUILDTIME}', arm]).stdout).toBe(`aarch64 ${EPOCH}`);
  });

  it('is reproducible: two builds give the same bytes', (ctx) => {
    expect(sha(need(ctx, 'rpm'))).toBe(sha(need(ctx, 'rpmAgain')));
  });

  it('scriptlets: %post enrolls once, %preun uninstalls only on erase (purge with OUTPOST_PURGE=1)', (ctx) => {
    const rpm = need(ctx, 'rpm');
    const root = join(dir.path, 'rpm-root');
    const exe = join(root, 'opt/outpost/versions/0.1.0/outpost-agent');
    mkdirSync(join(root, 'opt/outpost/versions/0.1.0'), { recursive: true });
    mkdirSync(join(root, 'etc/outpost'), { recursive: true });
    writeFileSync(exe, readFileSync(fakeAgent), { mode: 0o755 });
    const log = join(root, 'calls.log');
    // The scriptlets as stored in the package (not as built): rpm passes the instance count as $1.
    const stored = (tag: string) => run('rpm', ['-qp', '--qf', `%{${tag}}`, rpm]).stdout;
    expect(stored('POSTIN')).toBe(rpmScriptlets('0.1.0').post.trimEnd());
    const sh = (tag: string, arg: string, env: NodeJS.ProcessEnv = {}) =>
      run('sh', ['-c', stored(tag), 'scriptlet', arg], { DPKG_ROOT: root, OUTPOST_FAKE_LOG: log, ...env });
    const calls = () => readFileSync(log, 'utf8').trim().split('\n');

    writeFileSync(join(root, 'etc/outpost/install.env'), 'OUTPOST_SERVER=https://r.example\nOUTPOST_TOKEN=oet_r\n', {
      mode: 0o600,
    });
    expect(sh('POSTIN', '1').status).toBe(0);
    expect(calls()).toEqual([`${exe} install --server https://r.example --token oet_r --silent`]);
    expect(existsSync(join(root, 'etc/outpost/install.env'))).toBe(false);
    expect(readlinkSync(join(root, 'opt/outpost/current'))).toBe('versions/0.1.0');

    expect(sh('PREUN', '1').status).toBe(0); // an upgrade: the service stays
    expect(calls()).toHaveLength(1);
    expect(sh('PREUN', '0', { OUTPOST_PURGE: '1' }).status).toBe(0);
    expect(calls().at(-1)).toBe(`${join(root, 'opt/outpost/current/outpost-agent')} uninstall --purge`);
    writeFileSync(join(root, 'etc/outpost/agent.json'), '{}');
    expect(sh('POSTUN', '0').status).toBe(0);
    expect(existsSync(join(root, 'opt/outpost'))).toBe(false);
    expect(existsSync(join(root, 'etc/outpost/agent.json'))).toBe(true);
    expect(sh('POSTUN', '0', { OUTPOST_PURGE: '1' }).status).toBe(0);
    expect(existsSync(join(root, 'etc/outpost'))).toBe(false);
  });
});

describe('outpost-svc.exe (Windows service host)', () => {
  it('is a PE32+ x86-64 console program importing the service API, with no timestamp, reproducible', (ctx) => {
    const exe = need(ctx, 'svc');
    const b = readFileSync(exe);
    expect(b.toString('latin1', 0, 2)).toBe('MZ');
    const pe = b.readUInt32LE(0x3c);
    expect(b.toString('latin1', pe, pe + 4)).toBe('PE\0\0');
    expect(b.readUInt16LE(pe + 4)).toBe(0x8664); // x86-64
    expect(b.readUInt32LE(pe + 8)).toBe(0); // TimeDateStamp: --no-insert-timestamp
    const opt = pe + 24;
    expect(b.readUInt16LE(opt)).toBe(0x20b); // PE32+
    expect(b.readUInt16LE(opt + 68)).toBe(3); // IMAGE_SUBSYSTEM_WINDOWS_CUI
    for (const s of [
      'StartServiceCtrlDispatcherW',
      'RegisterServiceCtrlHandlerExW',
      'CreateProcessW',
      'ADVAPI32.dll',
    ]) {
      expect(b.includes(Buffer.from(s)), s).toBe(true);
    }
    expect(b.includes(Buffer.from('OUTPOST_STOP_CHANNEL', 'utf16le'))).toBe(true);
    expect(sha(exe)).toBe(sha(need(ctx, 'svcAgain')));
  });

  describe('its pure logic, compiled natively (svc_core.c)', () => {
    const core = (ctx: { skip(note?: string): void }, ...args: string[]) => {
      const r = run(need(ctx, 'core'), args);
      return { code: r.status, out: r.stdout.trim() };
    };
    const current = (ctx: { skip(note?: string): void }, text: string | Buffer) => {
      const f = join(dir.path, 'current.json');
      writeFileSync(f, text);
      return core(ctx, 'current', f);
    };

    it('reads the version from current.json, with other fields, whitespace or a BOM', (ctx) => {
      expect(current(ctx, '{"version": "0.2.0"}')).toEqual({ code: 0, out: '0.2.0' });
      expect(
        current(ctx, '\n{ "previous" : "0.1.0", "n": 3, "ok": true, "x": null,\r\n "version":"1.0.0-rc.1+b7" }\n'),
      ).toEqual({
        code: 0,
        out: '1.0.0-rc.1+b7',
      });
      expect(
        current(ctx, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"version":"3.0.0"}')])),
      ).toEqual({
        code: 0,
        out: '3.0.0',
      });
    });

    it('refuses a version that could leave versions\\ or is not a string, and broken JSON', (ctx) => {
      for (const v of ['..', '.', '..\\\\x', 'a/b', 'a\\\\b', 'C:x', '', 'x'.repeat(65), '0.1 0', '\\u002e\\u002e']) {
        expect(current(ctx, `{"version":"${v}"}`).code, v).toBe(3);
      }
      expect(current(ctx, '{"version": 3}').code).toBe(2);
      expect(current(ctx, '{"other": "1"}').code).toBe(2);
      for (const bad of [
        '',
        '{',
        '{"version":"1"',
        '{"version":"1"} x',
        '["1"]',
        '{"a":{"b":1}}',
        '{"version":"1",}',
      ]) {
        expect(current(ctx, bad).code, bad).toBe(1);
      }
    });

    it('builds a command line that Windows splits back into the agent path and `run`', (ctx) => {
      const r = core(ctx, 'command', 'C:\\Program Files\\Outpost\\', '0.2.0');
      expect(r).toEqual({ code: 0, out: '"C:\\Program Files\\Outpost\\versions\\0.2.0\\outpost-agent.exe" run' });
      expect(splitCommandLine(r.out)).toEqual([
        'C:\\Program Files\\Outpost\\versions\\0.2.0\\outpost-agent.exe',
        'run',
      ]);
      expect(core(ctx, 'command', 'C:\\Outpost', '../x').code).toBe(3);
      expect(core(ctx, 'command', `C:\\${'d'.repeat(1100)}`, '1.0.0').code).toBe(4);
    });

    it('quotes any argument so that CommandLineToArgvW gives it back unchanged', (ctx) => {
      for (const arg of ['plain', 'two words', 'a"b', 'ends\\', 'C:\\dir with space\\', 'x\\\\"y', '', '\t', '""']) {
        const q = core(ctx, 'quote', arg);
        expect(q.code).toBe(0);
        expect(splitCommandLine(`prog ${q.out}`).slice(1), JSON.stringify(arg)).toEqual([arg]);
      }
    });

    it('parses its flags: one mode at most, --dir needs a value', (ctx) => {
      expect(core(ctx, 'args').out).toBe('mode=0 dir=(exe dir)');
      expect(core(ctx, 'args', '--console', '--dir', 'D:\\O').out).toBe('mode=1 dir=D:\\O');
      expect(core(ctx, 'args', '--print-command').out).toBe('mode=2 dir=(exe dir)');
      expect(core(ctx, 'args', '--version').out).toBe('mode=3 dir=(exe dir)');
      expect(core(ctx, 'args', '--console', '--version').code).toBe(5);
      expect(core(ctx, 'args', '--dir').code).toBe(5);
      expect(core(ctx, 'args', '--dir', '').code).toBe(5);
      expect(core(ctx, 'args', '--bogus').code).toBe(5);
    });

    it('restarts with backoff doubling from 1 s to a 60 s cap', (ctx) => {
      const delays = ['0', '1', '2', '3', '6', '7', '8', '1000'].map((n) => core(ctx, 'backoff', n).out);
      expect(delays).toEqual(['0', '1000', '2000', '4000', '32000', '60000', '60000', '60000']);
    });
  });
});

describe('.msi', () => {
  const table = (msi: string, name: string) => {
    const r = run('msiinfo', ['export', msi, name]);
    expect(r.status, r.stderr).toBe(0);
    // Rows after the three header lines (names, types, key), split on tabs.
    return r.stdout
      .split(/\r?\n/)
      .slice(3)
      .filter(Boolean)
      .map((l) => l.split('\t'));
  };

  it('installs outpost-svc.exe as the OutpostAgent service: auto start, LocalSystem, started and removed', (ctx) => {
    const msi = need(ctx, 'msi');
    const tables = run('msiinfo', ['tables', msi]).stdout.split('\n');
    for (const t of ['ServiceInstall', 'ServiceControl', 'Property', 'Registry', 'File', 'MsiLockPermissionsEx']) {
      expect(tables).toContain(t);
    }
    // Name, DisplayName, type 16 (own process), start 2 (auto), error control 1 (normal), …, account, …, component.
    expect(table(msi, 'ServiceInstall')[0]?.slice(0, 12)).toEqual([
      'OutpostAgentService',
      'OutpostAgent',
      'Outpost Agent',
      '16',
      '2',
      '1',
      '',
      '',
      'LocalSystem',
      '',
      '',
      'ServiceHost',
    ]);
    // 163 = start on install (1) + stop on install (2) + stop on uninstall (0x20) + delete on uninstall (0x80); wait.
    expect(table(msi, 'ServiceControl')).toEqual([
      ['OutpostAgentControl', 'OutpostAgent', '163', '', '1', 'ServiceHost'],
    ]);
    const files = table(msi, 'File').map((r) => [r[0], r[1], r[2]]);
    expect(files).toEqual([
      ['OutpostSvcExe', 'ServiceHost', 'outpost-svc.exe'],
      ['CurrentJson', 'Pointer', 'current.json'],
      ['AgentExe', 'Agent', 'outpost-agent.exe'],
    ]);
    const dirs = Object.fromEntries(table(msi, 'Directory').map((r) => [r[0], [r[1], r[2]]]));
    expect(dirs.VersionDir).toEqual(['VersionsDir', '0.1.0']);
    expect(dirs.VersionsDir).toEqual(['INSTALLDIR', 'versions']);
    expect(dirs.INSTALLDIR).toEqual(['ProgramFiles64Folder', 'Outpost']);
    expect(dirs.DATADIR).toEqual(['CommonAppDataFolder', 'Outpost']);
    const components = Object.fromEntries(table(msi, 'Component').map((r) => [r[0], r[2]]));
    expect(components.Agent).toBe('VersionDir');
  });

  it('takes SERVER, TOKEN, CA_FINGERPRINT, UPDATE_ROOT_SHA256 into HKLM\\SOFTWARE\\Outpost, TOKEN hidden, locked down', (ctx) => {
    const msi = need(ctx, 'msi');
    const props = Object.fromEntries(table(msi, 'Property').map((r) => [r[0], r[1]]));
    expect(props.MsiHiddenProperties).toBe('TOKEN');
    expect(props.SecureCustomProperties?.split(';')).toEqual(
      expect.arrayContaining(['SERVER', 'TOKEN', 'CA_FINGERPRINT', 'UPDATE_ROOT_SHA256']),
    );
    expect(props.UpgradeCode).toBe(UPGRADE_CODE);
    expect(props.ProductVersion).toBe('0.1.0');
    expect(props.ALLUSERS).toBe('1');
    expect(props).not.toHaveProperty('TOKEN'); // no default token baked in
    // Root 2 = HKLM.
    expect(table(msi, 'Registry')).toEqual([
      ['RegServer', '2', 'SOFTWARE\\Outpost', 'Server', '[SERVER]', 'Enrollment'],
      ['RegToken', '2', 'SOFTWARE\\Outpost', 'Token', '[TOKEN]', 'Enrollment'],
      ['RegCaFingerprint', '2', 'SOFTWARE\\Outpost', 'CaFingerprint', '[CA_FINGERPRINT]', 'Enrollment'],
      ['RegUpdateRootSha256', '2', 'SOFTWARE\\Outpost', 'UpdateRootSha256', '[UPDATE_ROOT_SHA256]', 'Enrollment'],
    ]);
    const enrollment = table(msi, 'Component').find((r) => r[0] === 'Enrollment');
    expect(enrollment?.[4]).toBe('SERVER AND TOKEN');
    // Protected DACLs: SYSTEM (SY) and Administrators (BA) only, on the data directory and on the registry key.
    const locks = table(msi, 'MsiLockPermissionsEx');
    expect(locks.map((r) => [r[1], r[2]])).toEqual([
      ['DATADIR', 'CreateFolder'],
      ['RegServer', 'Registry'],
      ['RegToken', 'Registry'],
      ['RegCaFingerprint', 'Registry'],
      ['RegUpdateRootSha256', 'Registry'],
    ]);
    for (const l of locks) expect(l[3]).toMatch(/^D:PAI\(A;[A-Z]*;(FA|KA);;;SY\)\(A;[A-Z]*;(FA|KA);;;BA\)$/);
    expect(table(msi, 'LaunchCondition').map((r) => r[0])).toContain(
      'Installed OR (SERVER AND TOKEN) OR (NOT SERVER AND NOT TOKEN)',
    );
  });

  it('replaces older versions (MajorUpgrade) and refuses downgrades', (ctx) => {
    const msi = need(ctx, 'msi');
    const upgrade = table(msi, 'Upgrade');
    expect(upgrade).toEqual([
      [UPGRADE_CODE, '', '0.1.0', '', '1', '', 'WIX_UPGRADE_DETECTED'],
      [UPGRADE_CODE, '0.1.0', '', '', '2', '', 'WIX_DOWNGRADE_DETECTED'],
    ]);
    const seq = Object.fromEntries(table(msi, 'InstallExecuteSequence').map((r) => [r[0], Number(r[2])]));
    expect(seq.RemoveExistingProducts).toBeLessThan(seq.InstallInitialize!);
  });

  it('carries the agent, the host and current.json as built, and is reproducible', (ctx) => {
    const msi = need(ctx, 'msi');
    const out = join(dir.path, 'msi-extract');
    const r = run('msiextract', ['-C', out, msi]);
    expect(r.status, r.stderr).toBe(0);
    const base = join(out, 'Outpost'); // msiextract names INSTALLDIR's subtree only
    expect(JSON.parse(readFileSync(join(base, 'current.json'), 'utf8'))).toEqual({ version: '0.1.0' });
    expect(sha(join(base, 'versions/0.1.0/outpost-agent.exe'))).toBe(sha(fakeAgent));
    expect(sha(join(base, 'outpost-svc.exe'))).toBe(sha(need(ctx, 'svc')));
    const info = run('msiinfo', ['suminfo', msi]).stdout;
    expect(info).toContain('Template: x64;1033');
    expect(info).toContain('Created: Tue Nov 14 22:13:20 2023');
    expect(sha(msi)).toBe(sha(need(ctx, 'msiAgain')));
  });
});

describe("the service host's contract with the agent, run on Linux", () => {
  let collector: TestCollector | undefined;
  let skipReason: string | undefined;
  beforeAll(async () => {
    if (!existsSync(join(agentBin, '../../dist/outpost-agent.mjs'))) {
      skipReason = 'the agent bundle is missing: run `pnpm build` first';
      return;
    }
    collector = await startTestCollector();
  }, 60_000);
  afterAll(async () => {
    await collector?.[Symbol.asyncDispose]();
  });

  /** An enrolled agent started as outpost-svc.exe starts it: OUTPOST_STOP_CHANNEL=stdin, stdin a pipe. */
  async function startHosted(
    name: string,
  ): Promise<{ child: ChildProcess; exited: Promise<number | null>; log: () => string }> {
    const install = agentInstall(join(dir.path, name));
    const { token } = await collector!.enrollmentToken();
    const e = await enrollAgent(install, collector!.agentUrl, token, collector!.fingerprint);
    expect(e.code, e.err).toBe(0);
    const child = spawn(process.execPath, [agentBin, 'run'], {
      env: { ...process.env, ...install.env, OUTPOST_STOP_CHANNEL: 'stdin' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!out.includes('agent running')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`agent did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { child, exited, log: () => out };
  }

  it('a "stop" line on stdin stops the agent cleanly', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const a = await startHosted('hosted-stop');
    a.child.stdin!.write('status?\nstop\n');
    const code = await Promise.race([a.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code, a.log()).toBe(0);
    expect(a.log()).toMatch(/"signal":"stdin stop".*"msg":"stopping"/);
  }, 60_000);

  it('the host going away (stdin closed) stops the agent too: it never outlives its host', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const a = await startHosted('hosted-eof');
    a.child.stdin!.end();
    const code = await Promise.race([a.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code, a.log()).toBe(0);
    expect(a.log()).toContain('"signal":"stdin eof"');
  }, 60_000);

  it('enrolls at first start from what the MSI wrote to the registry, then deletes the token', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const { token } = await collector!.enrollmentToken();
    const install = agentInstall(join(dir.path, 'from-registry'));
    const deleted: string[] = [];
    // The registry is the operating system's answer: a recorded `reg query` output around real values.
    const registry: RegistryAccess = {
      query: async () =>
        `\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Outpost\r\n    Server    REG_SZ    ${collector!.agentUrl}\r\n    Token    REG_SZ    ${token}\r\n    CaFingerprint    REG_SZ    ${collector!.fingerprint ?? ''}\r\n\r\n`,
      deleteToken: async () => {
        deleted.push('Token');
      },
    };
    const logger = pino({ level: 'silent' });
    const outcome = await enrollFromRegistry({
      configFile: install.configFile,
      stateDir: install.stateDir,
      logger,
      registry,
    });
    expect(outcome).toBe('enrolled');
    expect(deleted).toEqual(['Token']);
    const config = readAgentConfig(install.configFile);
    expect(config.siteId).toBe(collector!.siteId);
    // The token was single-use: a second start finds the configuration and only drops a leftover token.
    expect(
      await enrollFromRegistry({ configFile: install.configFile, stateDir: install.stateDir, logger, registry }),
    ).toBe('already-enrolled');
    rmSync(install.dir, { recursive: true, force: true });
  }, 60_000);
});

/**
 * How CommandLineToArgvW and the Microsoft C runtime split a command line (the rules documented for
 * "Parsing C command-line arguments"): 2n backslashes before a quote give n and toggle quoting, 2n+1 give n and a
 * literal quote, other backslashes are literal.
 */
function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inQuotes = false;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\') {
      let n = 0;
      while (line[i] === '\\') {
        n++;
        i++;
      }
      if (line[i] === '"') {
        cur += '\\'.repeat(Math.floor(n / 2));
        if (n % 2 === 1) cur += '"';
        else inQuotes = !inQuotes;
      } else {
        cur += '\\'.repeat(n);
        i--;
      }
      started = true;
    } else if (c === '"') {
      inQuotes = !inQuotes;
      started = true;
    } else if ((c === ' ' || c === '\t') && !inQuotes) {
      if (started) args.push(cur);
      cur = '';
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (started) args.push(cur);
  return args;
}
