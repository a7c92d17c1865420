/** users on Windows: Get-LocalUser, the Administrators group (by its well-known SID) and `quser` sessions. */
import type { ProbeRow } from '@outpost/shared';
import { type ProbeContext, str } from './probe.js';
import { sessionRow } from './session-row.js';
import { asArray, objectOf, powershellJson } from './windows.js';

/** The PowerShell script whose JSON `parseUsersWindows` reads (quser's text rides along as one string). */
export const USERS_PS = [
  "$u=@(Get-LocalUser | Select-Object Name,@{n='SID';e={$_.SID.Value}},FullName,Enabled,Description)",
  "$a=@(Get-LocalGroupMember -SID 'S-1-5-32-544' -ErrorAction SilentlyContinue | Select-Object Name,@{n='SID';e={$_.SID.Value}})",
  '$q=(quser 2>$null) -join "`n"',
  '[pscustomobject]@{Users=$u;Administrators=$a;Sessions=$q} | ConvertTo-Json -Depth 3 -Compress',
].join('; ');

/**
 * quser's LOGON TIME, printed in the machine's short date format: "11/20/2026 8:02 AM" (en-US) is read by Date.parse,
 * "24.08.2022 17:42" (German, Swiss, Russian… day first with dots) is not, so it is read here. Local time: quser runs on
 * the machine whose clock it reports.
 */
export function quserTime(text: string): number {
  const dotted = /^(\d{1,2})\.(\d{1,2})\.(\d{4}) (\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!dotted) return Date.parse(text);
  const [day, month, year, hour, minute] = dotted.slice(1).map(Number) as [number, number, number, number, number];
  return new Date(year, month - 1, day, hour, minute).getTime();
}

/** Parses `quser`: USERNAME SESSIONNAME ID STATE IDLE-TIME LOGON-TIME (the session name is blank when disconnected). */
export function parseQuser(text: string): ProbeRow<'users'>[] {
  const rows: ProbeRow<'users'>[] = [];
  for (const line of text.split('\n').slice(1)) {
    const m = /^[ >](\S+)\s+(\S+)?\s+(\d+)\s+(Active|Disc|Conn|Listen)\S*\s+(\S+)\s+(.+?)\s*$/.exec(
      line.replace(/\r$/, ''),
    );
    if (!m) continue;
    const started = quserTime(m[6]!);
    rows.push(sessionRow(m[1]!, m[2] ?? `session ${m[3]}`, '', started));
  }
  return rows;
}

/** Built-in accounts Windows creates (RID 500 Administrator, 501 Guest, 503 DefaultAccount, 504 WDAGUtilityAccount). */
const SYSTEM_RIDS = new Set(['501', '503', '504']);

/** Parses the script's JSON: local accounts, then sessions. */
export function parseUsersWindows(json: unknown): ProbeRow<'users'>[] {
  const o = objectOf('users', json, 'the users output');
  const admins = new Set(asArray(o.Administrators).map((a) => str(a.SID)));
  const rows: ProbeRow<'users'>[] = asArray(o.Users).map((u) => {
    const sid = str(u.SID);
    return {
      kind: 'account',
      name: str(u.Name),
      uid: sid,
      full_name: str(u.FullName),
      home: '',
      shell: '',
      admin: admins.has(sid),
      disabled: u.Enabled === false,
      system: SYSTEM_RIDS.has(sid.slice(sid.lastIndexOf('-') + 1)),
      terminal: '',
      host: '',
      started_at: null,
    };
  });
  return [...rows, ...parseQuser(str(o.Sessions))];
}

/** Collects accounts and sessions. */
export async function collectUsersWindows(ctx: ProbeContext): Promise<ProbeRow<'users'>[]> {
  return parseUsersWindows(await powershellJson(ctx, 'users', USERS_PS));
}
