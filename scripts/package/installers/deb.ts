/**
 * The .deb: the executable under /opt/outpost/versions/<version>/, maintainer scripts from posix/maint.sh, built
 * with dpkg-deb from a staging tree with fixed owners (root:root), modes and times (SOURCE_DATE_EPOCH), so two
 * builds give the same bytes. docs/0009-packaging.md, "Installers".
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InstallerInput, maintainerScript, packageVersion, requireTool, run, stampTree } from './common.js';

const DEB_ARCH: Record<string, string> = { 'linux-x64': 'amd64', 'linux-arm64': 'arm64' };

/** The maintainer scripts, by name; dpkg passes the action as $1. */
export function debScripts(version: string): Record<string, string> {
  return {
    postinst: maintainerScript(version, 'case "$1" in configure) outpost_configure ;; esac'),
    prerm: maintainerScript(version, 'case "$1" in remove) outpost_unregister ;; esac'),
    postrm: maintainerScript(version, 'case "$1" in remove) outpost_cleanup ;; purge) outpost_cleanup purge ;; esac'),
  };
}

/** Builds outpost-agent_<version>_<arch>.deb into input.outDir; returns its path. */
export function buildDeb(input: InstallerInput): string {
  const arch = DEB_ARCH[input.platform];
  if (!arch) throw new Error(`no .deb for ${input.platform}`);
  requireTool('dpkg-deb', 'dpkg');
  const version = packageVersion(input.version);
  const stage = mkdtempSync(join(tmpdir(), 'outpost-deb-'));
  try {
    const bin = join(stage, 'opt/outpost/versions', input.version);
    mkdirSync(bin, { recursive: true, mode: 0o755 });
    copyFileSync(input.executable, join(bin, 'outpost-agent'));
    chmodSync(join(bin, 'outpost-agent'), 0o755);
    const control = join(stage, 'DEBIAN');
    mkdirSync(control, { mode: 0o755 });
    const size = Math.ceil(statSync(input.executable).size / 1024);
    writeFileSync(
      join(control, 'control'),
      [
        'Package: outpost-agent',
        `Version: ${version}`,
        `Architecture: ${arch}`,
        'Maintainer: Outpost <outpost@localhost>',
        `Installed-Size: ${size}`,
        // The executable needs glibc >= 2.28 (docs/0009-packaging.md, glibc floor) and libatomic, which Node's Linux
        // runtime links and minimal images lack (it exits 127 before any of our code runs without it).
        'Depends: libc6 (>= 2.28), libatomic1',
        'Section: admin',
        'Priority: optional',
        'Description: Outpost RMM agent',
        ' One self-contained executable (Node runtime inside) reporting this machine to an Outpost collector.',
        ' Enrolls at install time when OUTPOST_SERVER and OUTPOST_TOKEN (and OUTPOST_CA_FINGERPRINT) are in the',
        ' environment or in /etc/outpost/install.env, then runs as outpost-agent.service.',
        '',
      ].join('\n'),
    );
    for (const [name, text] of Object.entries(debScripts(input.version))) {
      writeFileSync(join(control, name), text, { mode: 0o755 });
      chmodSync(join(control, name), 0o755);
    }
    for (const d of ['opt', 'opt/outpost', 'opt/outpost/versions', `opt/outpost/versions/${input.version}`]) {
      chmodSync(join(stage, d), 0o755);
    }
    chmodSync(stage, 0o755);
    chmodSync(join(control, 'control'), 0o644);
    stampTree(stage, input.epoch);
    mkdirSync(input.outDir, { recursive: true });
    const out = join(input.outDir, `outpost-agent_${version}_${arch}.deb`);
    run('dpkg-deb', ['--root-owner-group', '-Zxz', '-z6', '--build', stage, out], {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(input.epoch) },
    });
    return out;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
