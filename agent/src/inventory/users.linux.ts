/** users on Linux: /etc/passwd and /etc/group (admin groups), /etc/shadow when readable, sessions from `who`. */
import type { ProbeRow } from '@outpost/shared';
import type { ProbeContext } from './probe.js';
import { sessionRow } from './session-row.js';

const ADMIN_GROUPS = new Set(['sudo', 'wheel', 'admin', 'root']);
const NO_LOGIN = /(nologin|false|sync|halt|shutdown)$/;

/** Parses passwd, group and (optional) shadow into account rows. */
export function parseAccounts(passwd: string, group: string, shadow: string | undefined): ProbeRow<'users'>[] {
  const admins = new Set<string>(['root']);
  for (const line of group.split('\n')) {
    const [name, , , members] = line.split(':');
    if (name && ADMIN_GROUPS.has(name)) for (const m of (members ?? '').split(',')) if (m.trim()) admins.add(m.trim());
  }
  const locked = new Set<string>();
  for (const line of (shadow ?? '').split('\n')) {
    const [name, hash] = line.split(':');
    if (name && hash !== undefined && /^[!*]/.test(hash)) locked.add(name);
  }
  const rows: ProbeRow<'users'>[] = [];
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !f[0] || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const shell = f[6] ?? '';
    rows.push({
      kind: 'account',
      name: f[0],
      uid: f[2] ?? '',
      full_name: (f[4] ?? '').split(',')[0] ?? '',
      home: f[5] ?? '',
      shell,
      admin: admins.has(f[0]) || uid === 0,
      disabled: locked.has(f[0]) && f[0] !== 'root' ? true : NO_LOGIN.test(shell) && uid !== 0,
      system: uid !== 0 && (uid < 1000 || uid === 65534),
      terminal: '',
      host: '',
      started_at: null,
    });
  }
  return rows;
}

/** Parses `who` (C locale: `name line YYYY-MM-DD HH:MM (host)`) into session rows. */
export function parseWho(text: string): ProbeRow<'users'>[] {
  const rows: ProbeRow<'users'>[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\S+)\s+(\d{4}-\d{2}-\d{2} \d{2}:\d{2})(?:\s+\((.*)\))?/.exec(line);
    if (!m) continue;
    const t = Date.parse(`${m[3]!.replace(' ', 'T')}:00`);
    rows.push(sessionRow(m[1]!, m[2]!, m[4] ?? '', t));
  }
  return rows;
}

/** Collects accounts and sessions. */
export async function collectUsersLinux(ctx: ProbeContext): Promise<ProbeRow<'users'>[]> {
  const [passwd, group, shadow] = await Promise.all([
    ctx.readText('/etc/passwd'),
    ctx.readText('/etc/group'),
    ctx.readText('/etc/shadow'),
  ]);
  const rows = parseAccounts(passwd ?? '', group ?? '', shadow);
  if (await ctx.has('who')) rows.push(...parseWho(await ctx.exec('who', []).catch(() => '')));
  return rows;
}
