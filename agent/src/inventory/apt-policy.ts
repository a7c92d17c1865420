/**
 * apt's version policy for the cases the agent decides itself (apt_preferences(5)): every available version gets a
 * priority — 500 by default, 1 from a `NotAutomatic: yes` archive, 100 with `ButAutomaticUpgrades: yes` too, a
 * package-specific pin's priority where that pin matches — and the installed version at least 100. The candidate is
 * the highest-priority version, the newer one on a tie, never older than the installed one. Pins this module does not
 * model (`Package: *`, globs and regular expressions, priorities ≥ 1000 that allow downgrades, several pins for one
 * package) raise `UnsupportedPolicy`, and the caller asks apt.
 */
import { compareDebianVersions } from '@outpost/shared';

export class UnsupportedPolicy extends Error {}

/** The fields of an archive's Release file a pin or the security flag looks at. */
export interface ReleaseInfo {
  suite: string;
  codename: string;
  origin: string;
  label: string;
  version: string;
  notAutomatic: boolean;
  butAutomaticUpgrades: boolean;
}

/** The first paragraph of a Release or InRelease file (the clearsigned header and signature are skipped). */
export function parseRelease(text: string): ReleaseInfo {
  const body = text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----') ? text.slice(text.indexOf('\n\n') + 2) : text;
  const head = body.slice(0, body.search(/\n\s*\n|\n-----BEGIN PGP SIGNATURE/) >>> 0);
  const field = (k: string) => new RegExp(`^${k}:[ \\t]*(.*)$`, 'mi').exec(head)?.[1]?.trim() ?? '';
  return {
    suite: field('Suite'),
    codename: field('Codename'),
    origin: field('Origin'),
    label: field('Label'),
    version: field('Version'),
    notAutomatic: /^yes$/i.test(field('NotAutomatic')),
    butAutomaticUpgrades: /^yes$/i.test(field('ButAutomaticUpgrades')),
  };
}

/** A package-specific pin. */
export interface Pin {
  kind: 'origin' | 'release' | 'version';
  /** origin: a site; version: a glob; release: `key=value` pairs. */
  data: string;
  release?: Map<string, string>;
  priority: number;
}

const isPlainName = (n: string) => /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$/.test(n);

/** Package name → its pin, from preferences files' text (several files concatenated with blank lines is fine). */
export function parsePreferences(text: string): Map<string, Pin> {
  const pins = new Map<string, Pin>();
  const stanzas = text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')
    .split(/\n\s*\n/);
  for (const s of stanzas) {
    const fields = new Map<string, string>();
    for (const line of s.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line.trim());
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    const pkgs = fields.get('package');
    const pin = fields.get('pin');
    if (pkgs === undefined || pin === undefined) continue;
    const priority = Number(fields.get('pin-priority') ?? '0');
    // apt ignores a pin without a priority (or with 0), with a warning.
    if (!Number.isInteger(priority) || priority === 0) continue;
    if (priority >= 1000) throw new UnsupportedPolicy('a pin priority of 1000 or more (downgrades) is left to apt');
    const names = pkgs.split(/\s+/).filter(Boolean);
    if (!names.every(isPlainName)) throw new UnsupportedPolicy(`pin for "${pkgs.slice(0, 80)}" is left to apt`);
    const kind = /^(origin|release|version)\s/i.exec(`${pin} `)?.[1]?.toLowerCase() as Pin['kind'] | undefined;
    if (!kind) throw new UnsupportedPolicy(`pin type not understood: ${pin.slice(0, 80)}`);
    const data = pin
      .slice(kind.length)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    const p: Pin = { kind, data, priority };
    if (kind === 'release') {
      const release = new Map<string, string>();
      for (const part of data.split(',')) {
        const kv = /^\s*([anvolcb])=(.+?)\s*$/.exec(part);
        if (!kv || /[*?/]/.test(kv[2]!)) throw new UnsupportedPolicy(`release pin left to apt: ${data.slice(0, 80)}`);
        release.set(kv[1]!, kv[2]!);
      }
      p.release = release;
    }
    for (const n of names) {
      if (pins.has(n)) throw new UnsupportedPolicy(`several pins for ${n} are left to apt`);
      pins.set(n, p);
    }
  }
  return pins;
}

/** One available version of a package, from one index. */
export interface AvailableVersion {
  version: string;
  site: string;
  /** The archive's suite (Release `Suite`, else the source entry's): what `apt list` prints after the name. */
  suite: string;
  component: string;
  arch: string;
  release: ReleaseInfo | undefined;
}

const globToRegExp = (g: string) =>
  new RegExp(
    `^${g
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  );

function pinMatches(pin: Pin, v: AvailableVersion): boolean {
  switch (pin.kind) {
    case 'origin':
      return pin.data === v.site;
    case 'version':
      return globToRegExp(pin.data).test(v.version);
    case 'release': {
      if (!v.release) return false;
      const have: Record<string, string> = {
        a: v.release.suite,
        n: v.release.codename,
        o: v.release.origin,
        l: v.release.label,
        v: v.release.version,
        c: v.component,
        b: v.arch,
      };
      for (const [k, want] of pin.release ?? []) if (have[k] !== want) return false;
      return true;
    }
  }
}

/** A version's priority from one index. */
export function priorityOf(v: AvailableVersion, pin: Pin | undefined): number {
  if (pin && pinMatches(pin, v)) return pin.priority;
  if (v.release?.notAutomatic) return v.release.butAutomaticUpgrades ? 100 : 1;
  return 500;
}

/**
 * The candidate when it is newer than the installed version (apt's "upgradable"), with every index it comes from;
 * undefined when the installed version stays.
 */
export function upgradeCandidate<V extends AvailableVersion>(
  installed: string,
  available: V[],
  pin: Pin | undefined,
): { version: string; from: V[] } | undefined {
  const byVersion = new Map<string, { priority: number; from: V[] }>();
  for (const v of available) {
    const p = priorityOf(v, pin);
    const e = byVersion.get(v.version);
    if (e) {
      e.priority = Math.max(e.priority, p);
      e.from.push(v);
    } else byVersion.set(v.version, { priority: p, from: [v] });
  }
  // The installed version is in the status file: priority 100, or its pin's (`Pin: origin ""` names local files).
  const local: AvailableVersion = {
    version: installed,
    site: '',
    suite: '',
    component: '',
    arch: '',
    release: undefined,
  };
  const statusPriority = pin && pinMatches(pin, local) ? pin.priority : 100;
  const installedPriority = Math.max(statusPriority, byVersion.get(installed)?.priority ?? statusPriority);
  let best: { version: string; priority: number; from: V[] } | undefined;
  for (const [version, e] of byVersion) {
    if (e.priority <= 0 || compareDebianVersions(version, installed) <= 0) continue;
    if (
      !best ||
      e.priority > best.priority ||
      (e.priority === best.priority && compareDebianVersions(version, best.version) > 0)
    )
      best = { version, ...e };
  }
  return best && best.priority >= installedPriority ? best : undefined;
}
