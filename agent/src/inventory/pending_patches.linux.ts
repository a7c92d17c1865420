/**
 * pending_patches on Linux: apt's upgradable list (computed by the agent from apt's own files where it can agree
 * with apt for sure — apt-upgradable.ts — else `apt list --upgradable`, which changes nothing and needs no lock) or dnf,
 * plus the reboot-required flag. apt options from the probe options are passed to every apt command, so a test can
 * point the probe and `apt list --upgradable` at the same fixture state. apt's answer is cached (state directory) under a
 * fingerprint of everything it reads: its resolved configuration (`apt-config dump`, 10 ms) and the size, mtime and
 * inode of the dpkg status, extended_states, sources, preferences and every file in the lists directory. Any
 * `apt update`, package change or configuration edit changes the fingerprint, so apt runs again.
 */
import { join } from 'node:path';
import type { ProbeRow } from '@outpost/shared';
import { aptPathsFrom, aptUpgradableNative } from './apt-upgradable.js';
import { cachedByFingerprint, fingerprintOf, statFingerprint } from './cache.js';
import type { ProbeContext } from './probe.js';

type Patch = ProbeRow<'pending_patches'>;

const patch = (p: Partial<Patch> & Pick<Patch, 'name' | 'source'>): Patch => ({
  kind: 'update',
  installed_version: '',
  candidate_version: '',
  security: false,
  classification: '',
  severity: '',
  kb: '',
  installed_at: null,
  ...p,
});

/** Parses `apt-get -s dist-upgrade`: `Inst pkg [old] (new origin [arch])` lines; new dependencies are skipped. */
export function parseAptSimulation(text: string): Patch[] {
  const rows: Patch[] = [];
  for (const line of text.split('\n')) {
    const m = /^Inst (\S+)(?: \[([^\]]*)\])? \((\S+) (.*?)(?: \[[^\]]*\])?\)/.exec(line);
    if (!m) continue;
    const [, name, installed, candidate, origins] = m;
    // A new package pulled in as a dependency is not a patch of anything installed.
    if (installed === undefined) continue;
    const security = /security/i.test(origins ?? '');
    rows.push(
      patch({
        name: name!,
        installed_version: installed,
        candidate_version: candidate!,
        security,
        classification: security ? 'security' : 'update',
        source: 'apt',
      }),
    );
  }
  return rows;
}

/** Parses `dnf -q check-update` (name.arch version repo) and the security advisories list. */
export function parseDnf(checkUpdate: string, securityList: string, installed: Map<string, string>): Patch[] {
  const security = new Map<string, string>();
  for (const line of securityList.split('\n')) {
    const f = line.trim().split(/\s+/);
    // FEDORA-2024-xxxx Important/Sec. pkg-1.2-3.fc39.x86_64
    if (f.length >= 3 && f[2]) security.set(f[2], f[1]!.split('/')[0] ?? '');
  }
  const rows: Patch[] = [];
  for (const line of checkUpdate.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3 || !f[0]!.includes('.') || /^(Obsoleting|Security:)/.test(f[0]!)) continue;
    const name = f[0]!.slice(0, f[0]!.lastIndexOf('.'));
    const arch = f[0]!.slice(f[0]!.lastIndexOf('.') + 1);
    const nevra = `${name}-${f[1]!.replace(/^\d+:/, '')}.${arch}`;
    const sev = security.get(nevra);
    rows.push(
      patch({
        name,
        installed_version: installed.get(name) ?? '',
        candidate_version: f[1]!,
        security: sev !== undefined,
        classification: sev !== undefined ? 'security' : 'update',
        severity: sev && !/^sec/i.test(sev) ? sev : '',
        source: 'dnf',
      }),
    );
  }
  return rows;
}

/** Parses `apt list --upgradable`: `name/suite[,suite] candidate arch [upgradable from: installed]`. */
export function parseAptList(text: string): Patch[] {
  const rows: Patch[] = [];
  for (const line of text.split('\n')) {
    const m = /^([^\s/]+)\/(\S+) (\S+) (\S+) \[upgradable from: ([^\]]+)\]/.exec(line.trim());
    if (!m) continue;
    const [, name, suites, candidate, , installed] = m;
    const security = /security/i.test(suites!);
    rows.push(
      patch({
        name: name!,
        installed_version: installed!,
        candidate_version: candidate!,
        security,
        classification: security ? 'security' : 'update',
        source: 'apt',
      }),
    );
  }
  return rows;
}

/** apt command-line arguments for the configured options. */
export function aptArgs(options: string[]): string[] {
  return options.flatMap((o) => ['-o', o]);
}

/** `Key "value";` lines of `apt-config dump` (first value of each key). */
export function parseAptConfig(dump: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of dump.split('\n')) {
    const m = /^(\S+) "(.*)";$/.exec(line);
    if (m && !out.has(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** A `Dir::…` path as apt resolves it: absolute values stand, relative ones hang off their parent key's directory. */
export function aptDir(config: Map<string, string>, key: string): string {
  const v = config.get(key) ?? '';
  if (v.startsWith('/')) return v;
  const cut = key.lastIndexOf('::');
  if (cut < 0) return v || '/';
  return join(aptDir(config, key.slice(0, cut)), v);
}

/** The fingerprint of every input of `apt list --upgradable`, from apt's resolved configuration. */
async function aptFingerprint(dump: string): Promise<string> {
  const c = parseAptConfig(dump);
  const files = [
    'Dir::State::status',
    'Dir::State::extended_states',
    'Dir::Etc::sourcelist',
    'Dir::Etc::preferences',
    'Dir::Etc::main',
  ].map((k) => aptDir(c, k));
  const dirs = ['Dir::State::lists', 'Dir::Etc::sourceparts', 'Dir::Etc::preferencesparts', 'Dir::Etc::parts'].map(
    (k) => aptDir(c, k),
  );
  // apt itself: a new apt may answer differently for the same files.
  files.push(aptDir(c, 'Dir::Bin::dpkg'), '/usr/bin/apt');
  return fingerprintOf(dump, await statFingerprint(files, dirs));
}

/** apt's upgradable list: computed by the agent when it can agree with apt for sure, else from apt. */
async function aptUpgradable(ctx: ProbeContext, args: string[], dump: string): Promise<Patch[]> {
  const c = parseAptConfig(dump);
  const native = await aptUpgradableNative(
    aptPathsFrom(dump, (k) => aptDir(c, k)),
    ctx.options.commandTimeoutMs,
  );
  if (native.ok) {
    return native.upgrades.map((u) => {
      const security = u.security;
      return patch({
        name: u.name,
        installed_version: u.installed,
        candidate_version: u.candidate,
        security,
        classification: security ? 'security' : 'update',
        source: 'apt',
      });
    });
  }
  return parseAptList(await ctx.exec('apt', [...args, 'list', '--upgradable']));
}

const isPatchList = (v: unknown): v is Patch[] =>
  Array.isArray(v) &&
  v.every(
    (p) =>
      typeof p === 'object' &&
      p !== null &&
      (p as Patch).source === 'apt' &&
      typeof (p as Patch).name === 'string' &&
      typeof (p as Patch).candidate_version === 'string',
  );

/** Collects pending updates and the reboot flag. */
export async function collectPatchesLinux(ctx: ProbeContext): Promise<Patch[]> {
  const rows: Patch[] = [];
  if (await ctx.has('apt')) {
    // `apt list --upgradable` reads the same depcache as `apt-get -s dist-upgrade` at a third of the cost.
    const args = aptArgs(ctx.options.aptOptions);
    const dump = await ctx.exec('apt-config', [...args, 'dump']);
    const fingerprint = ctx.options.cacheDir ? await aptFingerprint(dump) : '';
    const apt = await cachedByFingerprint(ctx.options.cacheDir, 'apt-upgradable', fingerprint, isPatchList, () =>
      aptUpgradable(ctx, args, dump),
    );
    rows.push(...apt);
  } else if (await ctx.has('dnf')) {
    const [updates, sec, rpm] = await Promise.all([
      ctx.exec('dnf', ['-q', '--cacheonly', 'check-update'], { okCodes: [100] }),
      ctx.exec('dnf', ['-q', '--cacheonly', 'updateinfo', 'list', '--security'], { okCodes: [1] }).catch(() => ''),
      ctx.exec('rpm', ['-qa', '--qf', '%{NAME}\t%{VERSION}-%{RELEASE}\n']),
    ]);
    const installed = new Map(rpm.split('\n').map((l) => l.split('\t') as [string, string]));
    rows.push(...parseDnf(updates, sec, installed));
  }
  const reboot = await ctx.readText('/var/run/reboot-required');
  if (reboot !== undefined) {
    const pkgs = ((await ctx.readText('/var/run/reboot-required.pkgs')) ?? '').trim().split('\n').filter(Boolean);
    rows.push(
      patch({ kind: 'reboot_required', name: pkgs.join(' ').slice(0, 256) || 'reboot required', source: 'os' }),
    );
  }
  return rows;
}
