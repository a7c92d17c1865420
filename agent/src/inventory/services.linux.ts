/** services on Linux: systemd units when systemd runs, otherwise the SysV init scripts and their runlevel links. */
import { readdir } from 'node:fs/promises';
import type { ProbeRow } from '@outpost/shared';
import type { ProbeContext } from './probe.js';

type Svc = ProbeRow<'services'>;

/** Parses `systemctl list-units --type=service --all --no-legend --plain` and `list-unit-files` into rows. */
export function parseSystemctl(units: string, files: string): Svc[] {
  const modes = new Map<string, string>();
  for (const line of files.split('\n')) {
    const [unit, state] = line.trim().split(/\s+/);
    if (unit?.endsWith('.service') && state) modes.set(unit, state);
  }
  const rows = new Map<string, Svc>();
  for (const line of units.split('\n')) {
    const m = /^\S*?(\S+\.service)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, unit, , active, sub, description] = m;
    rows.set(unit!, {
      name: unit!,
      display_name: description ?? '',
      state: active === 'failed' ? 'failed' : sub!,
      start_mode: modes.get(unit!) ?? '',
      kind: 'systemd',
      path: '',
    });
  }
  for (const [unit, mode] of modes) {
    if (!rows.has(unit) && !unit.includes('@.')) {
      rows.set(unit, { name: unit, display_name: '', state: 'inactive', start_mode: mode, kind: 'systemd', path: '' });
    }
  }
  return [...rows.values()];
}

/** Collects the service rows. */
export async function collectServicesLinux(ctx: ProbeContext): Promise<Svc[]> {
  const systemd = (await ctx.readText('/run/systemd/system/.')) !== undefined || (await isDir('/run/systemd/system'));
  if (systemd && (await ctx.has('systemctl'))) {
    const [units, files] = await Promise.all([
      ctx.exec('systemctl', ['list-units', '--type=service', '--all', '--no-legend', '--plain', '--no-pager']),
      ctx.exec('systemctl', ['list-unit-files', '--type=service', '--no-legend', '--no-pager']),
    ]);
    return parseSystemctl(units, files);
  }
  // No systemd (containers, old init): SysV scripts; enabled when a start link exists in runlevel 2, 3 or 5.
  const scripts = await readdir('/etc/init.d').catch(() => [] as string[]);
  const enabled = new Set<string>();
  for (const level of ['2', '3', '5']) {
    for (const link of await readdir(`/etc/rc${level}.d`).catch(() => [] as string[])) {
      const m = /^S\d\d(.+)$/.exec(link);
      if (m) enabled.add(m[1]!);
    }
  }
  return scripts
    .filter((s) => !s.startsWith('.') && s !== 'README' && !s.endsWith('.sh'))
    .map((s) => ({
      name: s,
      display_name: '',
      state: 'unknown',
      start_mode: enabled.has(s) ? 'enabled' : 'disabled',
      kind: 'sysv' as const,
      path: `/etc/init.d/${s}`,
    }));
}

async function isDir(p: string): Promise<boolean> {
  try {
    await readdir(p);
    return true;
  } catch {
    // not a directory or absent: systemd is not the init system
    return false;
  }
}
