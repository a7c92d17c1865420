/** users on macOS: `dscacheutil -q user` (every account), the admin group's members, and `who` sessions. */
import type { ProbeRow } from '@outpost/shared';
import { keyValues } from './darwin.js';
import { badOutput, type ProbeContext } from './probe.js';
import { sessionRow } from './session-row.js';

/** Parses macOS `who`: `name  tty  Mon dd hh:mm  (host)`; the year is the current one (who does not print it). */
export function parseWhoDarwin(text: string, now: number): ProbeRow<'users'>[] {
  const year = new Date(now).getFullYear();
  const rows: ProbeRow<'users'>[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\S+)\s+(\w{3}\s+\d{1,2} \d{2}:\d{2})(?:\s+\((.*)\))?/.exec(line);
    if (!m) continue;
    let t = Date.parse(`${m[3]} ${year}`);
    if (t > now + 86_400_000) t = Date.parse(`${m[3]} ${year - 1}`); // a session from last December
    rows.push(sessionRow(m[1]!, m[2]!, m[4] ?? '', t));
  }
  return rows;
}

/** Parses `dscacheutil -q user` (blank-line separated records) and `dscl . -read /Groups/admin GroupMembership`. */
export function parseUsersDarwin(accounts: string, adminGroup: string, who: string, now: number): ProbeRow<'users'>[] {
  const admins = new Set((keyValues(adminGroup).get('GroupMembership') ?? '').split(/\s+/).filter(Boolean));
  const rows: ProbeRow<'users'>[] = [];
  for (const block of accounts.split(/\n\s*\n/)) {
    const kv = keyValues(block);
    const name = kv.get('name');
    if (!name) continue;
    const uid = kv.get('uid') ?? '';
    const shell = kv.get('shell') ?? '';
    rows.push({
      kind: 'account',
      name,
      uid,
      full_name: kv.get('gecos') ?? '',
      home: kv.get('dir') ?? '',
      shell,
      admin: admins.has(name),
      disabled: /\/(false|nologin)$/.test(shell),
      // Apple's service accounts are _named and below uid 500; people start at 501.
      system: name.startsWith('_') || (Number(uid) < 500 && name !== 'root') || Number(uid) < 0,
      terminal: '',
      host: '',
      started_at: null,
    });
  }
  // Every Mac has root and the _service accounts: no account at all means the output is not dscacheutil's.
  if (rows.length === 0) badOutput('users', 'dscacheutil listed no account', accounts);
  return [...rows, ...parseWhoDarwin(who, now)];
}

/** Collects accounts and sessions. */
export async function collectUsersDarwin(ctx: ProbeContext): Promise<ProbeRow<'users'>[]> {
  const [accounts, admin, who] = await Promise.all([
    ctx.exec('dscacheutil', ['-q', 'user']),
    ctx.exec('dscl', ['.', '-read', '/Groups/admin', 'GroupMembership']).catch(() => ''),
    ctx.exec('who', []).catch(() => ''),
  ]);
  return parseUsersDarwin(accounts, admin, who, ctx.now());
}
