/**
 * installed_software on macOS: application bundles (SPApplicationsDataType: every .app Spotlight knows, in
 * /Applications, ~/Applications and elsewhere) and the receipts of installer packages that are not Apple's own
 * (`pkgutil --pkgs`, then `pkgutil --pkg-info` for each).
 */
import type { ProbeRow } from '@outpost/shared';
import { items, keyValues, profilerJson } from './darwin.js';
import { type ProbeContext, parseJsonOutput, str, timeOrNull } from './probe.js';

type Software = ProbeRow<'installed_software'>;

/** The signer of an app: "Developer ID Application: Mozilla Corporation (43AQ936H96)" → "Mozilla Corporation". */
export function signerOf(app: Record<string, unknown>): string {
  if (str(app.obtained_from) === 'apple') return 'Apple Inc.';
  const first = Array.isArray(app.signed_by) ? str(app.signed_by[0]) : '';
  return (
    /^(?:Developer ID Application|Apple Mac OS Application Signing|3rd Party Mac Developer Application): (.+?)(?: \([A-Z0-9]{10}\))?$/.exec(
      first,
    )?.[1] ?? (first === 'Apple Mac OS Application Signing' ? 'App Store' : '')
  );
}

const ARCH: Record<string, string> = {
  arch_arm_i64: 'universal',
  arch_arm: 'arm64',
  arch_i64: 'x86_64',
  arch_ios: 'arm64',
  arch_other: '',
};

/** The app's architecture: `arch_kind` since macOS 11; before, `runtime_environment` (arch_x86) and `has64BitIntelCode`. */
function archOf(app: Record<string, unknown>): string {
  if (app.arch_kind !== undefined) return ARCH[str(app.arch_kind)] ?? '';
  if (str(app.runtime_environment) === 'arch_x86') return str(app.has64BitIntelCode) === 'yes' ? 'x86_64' : 'x86';
  return '';
}

/** Parses `system_profiler -json SPApplicationsDataType`. */
export function parseApplications(o: Record<string, unknown>): Software[] {
  return items(o, 'SPApplicationsDataType')
    .filter((a) => str(a._name))
    .map((a) => {
      const path = str(a.path);
      return {
        name: str(a._name),
        version: str(a.version),
        arch: archOf(a),
        publisher: signerOf(a),
        install_date: timeOrNull(a.lastModified),
        source: 'app' as const,
        scope: path.startsWith('/Users/') ? ('user' as const) : ('machine' as const),
        location: path,
      };
    });
}

/** Parses one `pkgutil --pkg-info ID` output. */
export function parsePkgInfo(text: string): Software | undefined {
  const kv = keyValues(text);
  const id = kv.get('package-id');
  if (!id) return undefined;
  const t = Number(kv.get('install-time'));
  const vendor = id.split('.').slice(0, 2).join('.');
  return {
    name: id,
    version: kv.get('version') ?? '',
    arch: '',
    publisher: vendor,
    install_date: Number.isInteger(t) && t > 0 ? t * 1000 : null,
    source: 'pkg',
    scope: 'machine',
    location: `${kv.get('volume') ?? '/'}${kv.get('location') ?? ''}`.replace(/\/+/g, '/'),
  };
}

/** Collects applications and third-party package receipts. */
export async function collectSoftwareDarwin(ctx: ProbeContext): Promise<Software[]> {
  const [apps, pkgs] = await Promise.all([
    ctx.exec('system_profiler', ['-json', 'SPApplicationsDataType']),
    ctx.exec('pkgutil', ['--pkgs']),
  ]);
  const rows = parseApplications(profilerJson('installed_software', parseJsonOutput('installed_software', apps)));
  // Apple's own receipts (hundreds, one per OS component) describe the OS, which os_version already reports.
  const ids = pkgs
    .split('\n')
    .map((l) => l.trim())
    .filter((id) => id && !id.startsWith('com.apple.'));
  for (let i = 0; i < ids.length; i += 8) {
    const infos = await Promise.all(
      ids.slice(i, i + 8).map((id) => ctx.exec('pkgutil', ['--pkg-info', id]).catch(() => '')),
    );
    for (const info of infos) {
      const row = parsePkgInfo(info);
      if (row) rows.push(row);
    }
  }
  return rows;
}
