/**
 * The .rpm: the same layout and scripts as the .deb (posix/maint.sh), built with rpmbuild from a spec whose macros
 * make it reproducible (build time and file times from SOURCE_DATE_EPOCH, a fixed build host, no build-id links,
 * no strip or other post-processing, which would also damage the executable's embedded blob).
 * rpm has no purge: `rpm -e` keeps identity and configuration; OUTPOST_PURGE=1 rpm -e removes them too.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InstallerInput, maintainerScript, packageVersion, requireTool, run } from './common.js';

const RPM_ARCH: Record<string, string> = { 'linux-x64': 'x86_64', 'linux-arm64': 'aarch64' };

/** The scriptlets; rpm passes the number of installed instances after the operation as $1. */
export function rpmScriptlets(version: string): Record<'post' | 'preun' | 'postun', string> {
  return {
    post: maintainerScript(version, 'outpost_configure', false),
    preun: maintainerScript(
      version,
      'if [ "$1" = 0 ]; then if [ "$OUTPOST_PURGE" = 1 ]; then outpost_unregister purge; else outpost_unregister; fi; fi',
      false,
    ),
    postun: maintainerScript(
      version,
      'if [ "$1" = 0 ]; then if [ "$OUTPOST_PURGE" = 1 ]; then outpost_cleanup purge; else outpost_cleanup; fi; fi',
      false,
    ),
  };
}

/** Builds outpost-agent-<version>-1.<arch>.rpm into input.outDir; returns its path. */
export function buildRpm(input: InstallerInput): string {
  const arch = RPM_ARCH[input.platform];
  if (!arch) throw new Error(`no .rpm for ${input.platform}`);
  requireTool('rpmbuild', 'rpm');
  const version = packageVersion(input.version);
  const top = mkdtempSync(join(tmpdir(), 'outpost-rpm-'));
  try {
    for (const d of ['SOURCES', 'SPECS', 'BUILD', 'RPMS', 'BUILDROOT']) mkdirSync(join(top, d));
    copyFileSync(input.executable, join(top, 'SOURCES/outpost-agent'));
    const s = rpmScriptlets(input.version);
    const dir = `/opt/outpost/versions/${input.version}`;
    const spec = [
      'Name: outpost-agent',
      `Version: ${version}`,
      'Release: 1',
      'Summary: Outpost RMM agent',
      'License: Proprietary',
      'URL: https://outpost.invalid/',
      // The executable carries its own runtime; it needs glibc >= 2.28 and libatomic (linked by Node's runtime, absent
      // from minimal images), declared by hand.
      'AutoReqProv: no',
      'Requires: glibc >= 2.28',
      'Requires: libatomic',
      '%description',
      'One self-contained executable (Node runtime inside) reporting this machine to an Outpost collector.',
      'Enrolls at install time when OUTPOST_SERVER and OUTPOST_TOKEN (and OUTPOST_CA_FINGERPRINT) are in the',
      'environment or in /etc/outpost/install.env, then runs as outpost-agent.service.',
      '%install',
      `mkdir -p %{buildroot}${dir}`,
      `install -m 0755 %{_sourcedir}/outpost-agent %{buildroot}${dir}/outpost-agent`,
      '%files',
      '%dir %attr(0755,root,root) /opt/outpost',
      '%dir %attr(0755,root,root) /opt/outpost/versions',
      `%dir %attr(0755,root,root) ${dir}`,
      `%attr(0755,root,root) ${dir}/outpost-agent`,
      '%post -p /bin/sh',
      s.post,
      '%preun -p /bin/sh',
      s.preun,
      '%postun -p /bin/sh',
      s.postun,
      '',
    ].join('\n');
    writeFileSync(join(top, 'SPECS/outpost-agent.spec'), spec);
    const define = (k: string, v: string) => ['--define', `${k} ${v}`];
    run(
      'rpmbuild',
      [
        '-bb',
        '--target',
        `${arch}-linux`,
        ...define('_topdir', top),
        ...define('_buildhost', 'reproducible'),
        ...define('use_source_date_epoch_as_buildtime', '1'),
        ...define('clamp_mtime_to_source_date_epoch', '1'),
        ...define('source_date_epoch_from_changelog', '0'),
        ...define('_build_id_links', 'none'),
        ...define('debug_package', '%{nil}'),
        ...define('__os_install_post', '%{nil}'),
        ...define('_binary_payload', 'w6.xzdio'),
        join(top, 'SPECS/outpost-agent.spec'),
      ],
      { env: { ...process.env, SOURCE_DATE_EPOCH: String(input.epoch), TZ: 'UTC', LC_ALL: 'C' } },
    );
    const built = join(top, 'RPMS', arch);
    const [file] = readdirSync(built);
    if (!file) throw new Error('rpmbuild wrote no package');
    mkdirSync(input.outDir, { recursive: true });
    const out = join(input.outDir, file);
    copyFileSync(join(built, file), `${out}.tmp`);
    renameSync(`${out}.tmp`, out);
    return out;
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
}
