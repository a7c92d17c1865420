/** installed_software on Linux: every package database present (dpkg, rpm, flatpak, snap). */
import { stat } from 'node:fs/promises';
import type { ProbeRow } from '@outpost/shared';
import type { ProbeContext } from './probe.js';

type Sw = ProbeRow<'installed_software'>;

/** The dpkg-query format the probe asks for: one package per line, tab-separated. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${Field} syntax, not a template.
export const DPKG_FORMAT = '${Package}\t${Version}\t${Architecture}\t${Maintainer}\t${db:Status-Abbrev}\n';

const sw = (p: Partial<Sw> & Pick<Sw, 'name' | 'version' | 'source'>): Sw => ({
  arch: '',
  publisher: '',
  install_date: null,
  scope: 'machine',
  location: '',
  ...p,
});

/** Parses dpkg-query output in DPKG_FORMAT: the packages `dpkg-query -W` lists (not-installed ones excluded). */
export function parseDpkg(text: string): Sw[] {
  const rows: Sw[] = [];
  for (const line of text.split('\n')) {
    const [name, version, arch, maintainer, status] = line.split('\t');
    if (!name || version === undefined) continue;
    // `dpkg-query -W` lists every package the database knows except purged ones ("un"/"pn" with no version).
    if (!version && /^[up]n/.test(status ?? '')) continue;
    rows.push(
      sw({
        name,
        version,
        arch: arch ?? '',
        publisher: (maintainer ?? '').replace(/\s*<[^>]*>\s*$/, ''),
        source: 'dpkg',
      }),
    );
  }
  return rows;
}

/** Parses `rpm -qa --qf '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\t%{INSTALLTIME}\n'`. */
export function parseRpm(text: string): Sw[] {
  return text
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f[0] && f[1])
    .map(([name, evr, arch, vendor, time]) =>
      sw({
        name: name!,
        version: evr!.replace(/^0:/, ''),
        arch: arch === '(none)' ? '' : (arch ?? ''),
        publisher: vendor === '(none)' ? '' : (vendor ?? ''),
        install_date: Number(time) > 0 ? Number(time) * 1000 : null,
        source: 'rpm',
      }),
    );
}

/** Parses `flatpak list --columns=application,version,origin,installation` (tab-separated). */
export function parseFlatpak(text: string): Sw[] {
  return text
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f[0])
    .map(([app, version, origin, installation]) =>
      sw({
        name: app!,
        version: version ?? '',
        publisher: origin ?? '',
        source: 'flatpak',
        scope: installation === 'user' ? 'user' : 'machine',
      }),
    );
}

/** Parses `snap list` (a header line, then space-aligned Name Version Rev Tracking Publisher Notes). */
export function parseSnap(text: string): Sw[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5 && f[0])
    .map(([name, version, , , publisher]) =>
      sw({ name: name!, version: version!, publisher: (publisher ?? '').replace(/[✓*]$/, ''), source: 'snap' }),
    );
}

async function dpkgInstallDates(rows: Sw[]): Promise<void> {
  // The package's file list is written when it is unpacked: its mtime is the install (or last upgrade) date.
  await Promise.all(
    rows.map(async (r) => {
      for (const f of [`/var/lib/dpkg/info/${r.name}.list`, `/var/lib/dpkg/info/${r.name}:${r.arch}.list`]) {
        try {
          r.install_date = Math.trunc((await stat(f)).mtimeMs);
          return;
        } catch {
          // try the multi-arch name
        }
      }
    }),
  );
}

/** Collects packages from every database present. */
export async function collectSoftwareLinux(ctx: ProbeContext): Promise<Sw[]> {
  const rows: Sw[] = [];
  const jobs: Promise<void>[] = [];
  if (await ctx.has('dpkg-query')) {
    jobs.push(
      ctx.exec('dpkg-query', ['-W', '-f', DPKG_FORMAT]).then(async (out) => {
        const list = parseDpkg(out);
        await dpkgInstallDates(list);
        rows.push(...list);
      }),
    );
  }
  if (await ctx.has('rpm')) {
    jobs.push(
      ctx
        .exec('rpm', [
          '-qa',
          '--qf',
          '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\t%{INSTALLTIME}\n',
        ])
        .then((out) => void rows.push(...parseRpm(out))),
    );
  }
  if (await ctx.has('flatpak')) {
    jobs.push(
      ctx
        .exec('flatpak', ['list', '--columns=application,version,origin,installation'])
        .then((out) => void rows.push(...parseFlatpak(out))),
    );
  }
  if (await ctx.has('snap')) jobs.push(ctx.exec('snap', ['list']).then((out) => void rows.push(...parseSnap(out))));
  await Promise.all(jobs);
  return rows;
}
