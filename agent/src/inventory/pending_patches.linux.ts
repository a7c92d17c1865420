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

/** One `name.arch  [epoch:]version-release  repo` entry of `dnf check-update`, whole again if dnf wrapped it. */
interface DnfEntry {
  name: string;
  arch: string;
  evr: string;
}

/**
 * Parses `dnf -q check-update` (dnf 4 and 5; yum lays it out the same way). dnf pads three columns and, when a name or
 * version overflows its column, continues the entry on the next line indented; the "Obsoleting Packages" section
 * lists each obsoleting package with the installed package it replaces indented by four spaces under it. So an entry
 * is the tokens of a line starting at column 0 plus those of the indented lines that complete it; an entry that starts
 * indented is an obsoleted installed package (or a notice), never an update.
 */
export function parseDnfCheckUpdate(text: string): DnfEntry[] {
  const entries: DnfEntry[] = [];
  let tokens: string[] = [];
  let indented = false;
  const finish = () => {
    const [na, evr] = tokens;
    if (tokens.length !== 3 || indented || !na || !evr) return;
    const dot = na.lastIndexOf('.');
    const name = na.slice(0, dot);
    const arch = na.slice(dot + 1);
    // name.arch, then [epoch:]version-release: anything else is a message (plugins loaded, "Security: … is an
    // installed security update", "Last metadata expiration check: …").
    if (dot <= 0 || !/^[A-Za-z0-9_]+$/.test(arch) || !/^(\d+:)?[^\s:-]+-[^\s:-]+$/.test(evr)) return;
    entries.push({ name, arch, evr });
  };
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) continue;
    const continues = /^\s/.test(line) && tokens.length > 0 && tokens.length < 3;
    if (continues) {
      tokens.push(...words);
      continue;
    }
    finish();
    tokens = words;
    indented = /^\s/.test(line);
  }
  finish();
  return entries;
}

/** name, arch, epoch-less version-release of an RPM NEVRA as dnf prints it (`openssl-1:3.0.7-27.el9.x86_64`). */
function splitNevra(nevra: string): { name: string; arch: string; vr: string } | undefined {
  const m = /^(.+)-(?:\d+:)?([^-:]+)-([^-]+)\.([A-Za-z0-9_]+)$/.exec(nevra);
  return m ? { name: m[1]!, vr: `${m[2]}-${m[3]}`, arch: m[4]! } : undefined;
}

/**
 * Parses the security advisories that apply to this machine into the severity per `name.arch` (the highest when
 * several advisories touch a package). dnf 4 `updateinfo list --security`: `ADVISORY Severity/Sec. NEVRA`; dnf 5
 * (`advisory list`): a header, then `ADVISORY type severity NEVRA issued-date time`. The NEVRA carries a non-zero
 * epoch (`openssl-1:3.0.7-27.el9.x86_64`). An advisory lists a fixed version that may be older than the newest
 * candidate, so a package is a security update when any advisory names it, whatever version it gives.
 */
export function parseDnfSecurity(text: string): Map<string, string> {
  const rank = ['', 'low', 'moderate', 'important', 'critical'];
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    let nevra: string | undefined;
    let severity = '';
    if (f.length >= 5 && /^\d{4}-\d{2}-\d{2}$/.test(f[4]!)) {
      if (f[1]!.toLowerCase() !== 'security') continue;
      nevra = f[3];
      severity = f[2]!;
    } else if (f.length === 3 && /\/Sec\.$/.test(f[1]!)) {
      nevra = f[2];
      severity = f[1]!.split('/')[0]!;
    }
    const p = nevra ? splitNevra(nevra) : undefined;
    if (!p) continue;
    if (/^(none|unknown)$/i.test(severity)) severity = '';
    const key = `${p.name}.${p.arch}`;
    const before = out.get(key);
    if (before === undefined || rank.indexOf(severity.toLowerCase()) > rank.indexOf(before.toLowerCase()))
      out.set(key, severity);
  }
  return out;
}

/** Parses `rpm -qa --qf '%{NAME}.%{ARCH}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n'` into the version per `name.arch`,
 * written as dnf writes versions (the epoch only when not 0). Install-only packages (kernels) are installed several
 * times over; the last listed, the most recently installed, stands for them. */
export function parseRpmInstalled(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [na, evr] = line.split('\t');
    if (na && evr) out.set(na, evr.replace(/^0:/, ''));
  }
  return out;
}

/** Pending updates from dnf's (or yum's) answers and the installed versions (`parseRpmInstalled`). */
export function parseDnf(
  checkUpdate: string,
  securityList: string,
  installed: Map<string, string>,
  source: 'dnf' | 'yum' = 'dnf',
): Patch[] {
  const security = parseDnfSecurity(securityList);
  return parseDnfCheckUpdate(checkUpdate).map(({ name, arch, evr }) => {
    const sev = security.get(`${name}.${arch}`);
    return patch({
      name,
      installed_version: installed.get(`${name}.${arch}`) ?? '',
      candidate_version: evr,
      security: sev !== undefined,
      classification: sev !== undefined ? 'security' : 'update',
      severity: sev ?? '',
      source,
    });
  });
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
  } else if ((await ctx.has('dnf')) || (await ctx.has('yum'))) {
    // yum (RHEL/CentOS 7) prints the same layouts as dnf 4 and takes the same arguments.
    const pm = (await ctx.has('dnf')) ? 'dnf' : 'yum';
    const [updates, sec, rpm] = await Promise.all([
      ctx.exec(pm, ['-q', '--cacheonly', 'check-update'], { okCodes: [100] }),
      ctx.exec(pm, ['-q', '--cacheonly', 'updateinfo', 'list', '--security'], { okCodes: [1] }).catch(() => ''),
      ctx.exec('rpm', ['-qa', '--qf', '%{NAME}.%{ARCH}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n']),
    ]);
    rows.push(...parseDnf(updates, sec, parseRpmInstalled(rpm), pm));
  }
  const flag = join(ctx.options.rootDir ?? '/', 'var/run/reboot-required');
  const reboot = await ctx.readText(flag);
  if (reboot !== undefined) {
    const pkgs = ((await ctx.readText(`${flag}.pkgs`)) ?? '').trim().split('\n').filter(Boolean);
    rows.push(
      patch({ kind: 'reboot_required', name: pkgs.join(' ').slice(0, 256) || 'reboot required', source: 'os' }),
    );
  }
  return rows;
}
