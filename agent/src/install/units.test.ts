/**
 * The texts and commands install hands to the service managers, read as a machine would get them: the systemd unit
 * (also run for real by test/package/systemd-install.test.ts), the launchd plist and launchctl steps (never run
 * here: no Mac), the layouts, the exit code tables and the version order.
 */
import { describe, expect, it } from 'vitest';
import { exitCodeFor, POSIX_EXIT_CODES, WINDOWS_EXIT_CODES } from './exit-codes.js';
import { installLayout } from './layout.js';
import { LAUNCHD, SYSTEMD, servicePlan } from './steps.js';
import { launchdPlist, systemdUnit } from './units.js';
import { compareVersions, isVersion } from './version.js';

/** The unit's `Key=Value` lines by section. */
function iniSections(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      section = head[1]!;
      out[section] = {};
      continue;
    }
    const [k, ...v] = line.split('=');
    out[section]![k!] = v.join('=');
  }
  return out;
}

describe('systemd unit', () => {
  const unit = iniSections(systemdUnit('/opt/outpost/current/outpost-agent'));

  it('restarts forever, leaves shells and jobs running when the agent restarts, keeps files private', () => {
    expect(unit.Unit).toMatchObject({ StartLimitIntervalSec: '0', After: 'network-online.target' });
    expect(unit.Service).toMatchObject({
      Type: 'exec',
      ExecStart: '/opt/outpost/current/outpost-agent run',
      Restart: 'always',
      RestartSec: '5',
      KillMode: 'process',
      UMask: '0077',
      StateDirectory: 'outpost',
      StateDirectoryMode: '0700',
    });
    expect(unit.Install).toEqual({ WantedBy: 'multi-user.target' });
  });

  it('has none of the sandboxing that breaks an RMM agent (sudo, apt, file transfer, /tmp, dkms)', () => {
    for (const k of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'ProtectKernelModules', 'User'])
      expect(unit.Service, k).not.toHaveProperty(k);
  });
});

describe('launchd plist (text only: never loaded here)', () => {
  const plist = launchdPlist('/usr/local/outpost/current/outpost-agent', '/usr/local/outpost');
  /** The value element following <key>name</key>. */
  const value = (name: string) =>
    new RegExp(`<key>${name}</key>\\s*(<(\\w+)\\s*/>|<(\\w+)>([\\s\\S]*?)</\\3>)`).exec(plist);

  it('runs `outpost-agent run` from the current pointer at boot and whenever it exits', () => {
    expect(value('Label')?.[4]).toBe('net.outpost.agent');
    expect(value('ProgramArguments')?.[4]?.match(/<string>([^<]*)<\/string>/g)).toEqual([
      '<string>/usr/local/outpost/current/outpost-agent</string>',
      '<string>run</string>',
    ]);
    expect(value('RunAtLoad')?.[2]).toBe('true');
    expect(value('KeepAlive')?.[2]).toBe('true');
    // launchd's KillMode=process: shells survive an agent restart.
    expect(value('AbandonProcessGroup')?.[2]).toBe('true');
    expect(value('Umask')?.[4]).toBe(String(0o077));
  });

  it('is well formed: every element closed in order', () => {
    const stack: string[] = [];
    for (const m of plist.matchAll(/<(\/?)(\w+)[^>]*?(\/?)>/g)) {
      if (m[3]) continue; // <true/>
      if (m[1]) expect(stack.pop()).toBe(m[2]);
      else stack.push(m[2]!);
    }
    expect(stack).toEqual([]);
    expect(launchdPlist('/a&b/<x>', '/')).toContain('<string>/a&amp;b/&lt;x&gt;</string>');
  });

  it('is bootstrapped into and booted out of the system domain with launchctl', () => {
    const argv = (steps: { argv: readonly string[] }[]) => steps.map((s) => s.argv.join(' '));
    expect(argv(LAUNCHD.register(true))).toEqual([
      'launchctl bootout system/net.outpost.agent',
      'launchctl enable system/net.outpost.agent',
      'launchctl bootstrap system /Library/LaunchDaemons/net.outpost.agent.plist',
    ]);
    expect(argv(LAUNCHD.start(true))).toEqual(['launchctl kickstart -k system/net.outpost.agent']);
    expect(argv(LAUNCHD.remove)).toEqual(['launchctl bootout system/net.outpost.agent']);
    expect(LAUNCHD.remove[0]?.mayFail).toBe(true);
    expect(LAUNCHD.definition(installLayout('/', 'darwin')!)).toContain(
      '<string>/usr/local/outpost/current/outpost-agent</string>',
    );
  });
});

describe('layouts and plans', () => {
  it('puts Linux in /opt, /etc, /var and macOS in /usr/local and /Library; none on Windows', () => {
    expect(installLayout('/', 'linux')).toMatchObject({
      currentLink: '/opt/outpost/current',
      versionsDir: '/opt/outpost/versions',
      configFile: '/etc/outpost/agent.json',
      stateDir: '/var/lib/outpost',
      cacheDir: '/var/cache/outpost',
      serviceFile: '/etc/systemd/system/outpost-agent.service',
      execStart: '/opt/outpost/current/outpost-agent',
    });
    expect(installLayout('/', 'darwin')).toMatchObject({
      currentLink: '/usr/local/outpost/current',
      configFile: '/Library/Application Support/Outpost/agent.json',
      serviceFile: '/Library/LaunchDaemons/net.outpost.agent.plist',
    });
    // A root prefix moves the files, not what the service manager will run.
    expect(installLayout('/tmp/r', 'linux')).toMatchObject({
      currentLink: '/tmp/r/opt/outpost/current',
      execStart: '/opt/outpost/current/outpost-agent',
    });
    expect(installLayout('/', 'win32')).toBeUndefined();
    expect(servicePlan('linux')).toBe(SYSTEMD);
    expect(servicePlan('darwin')).toBe(LAUNCHD);
    expect(servicePlan('win32')).toBeUndefined();
  });
});

describe('exit codes', () => {
  it('are msiexec’s on Windows and small distinct codes elsewhere', () => {
    expect(WINDOWS_EXIT_CODES).toEqual({
      success: 0,
      fatal: 1603,
      badArguments: 1639,
      rebootRequired: 3010,
      anotherInstall: 1618,
      notRoot: 1603,
    });
    expect(POSIX_EXIT_CODES).toEqual({
      success: 0,
      fatal: 1,
      badArguments: 2,
      rebootRequired: 3,
      anotherInstall: 4,
      notRoot: 5,
    });
    expect(new Set(Object.values(POSIX_EXIT_CODES)).size).toBe(6);
    expect(exitCodeFor('anotherInstall', 'darwin')).toBe(4);
  });
});

describe('versions', () => {
  it('orders releases and prereleases as semver does', () => {
    const sorted = [
      '0.1.0-alpha',
      '0.1.0-alpha.2',
      '0.1.0-alpha.10',
      '0.1.0-beta',
      '0.1.0',
      '0.2.0',
      '0.10.0',
      '1.0.0',
    ];
    expect([...sorted].reverse().sort(compareVersions)).toEqual(sorted);
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
  });

  it('accepts only names safe as a directory', () => {
    for (const v of ['0.1.0', '10.20.30', '1.0.0-rc.1']) expect(isVersion(v), v).toBe(true);
    for (const v of ['', '1.0', '../1.0.0', '1.0.0/x', '01.0.0', 'v1.0.0', '1.0.0\n'])
      expect(isVersion(v), v).toBe(false);
  });
});
