/**
 * What Windows PowerShell 5.1's ConvertTo-Json prints for dates, as recorded in public sources (fixtures/win32/real-*,
 * sources in the fixtures README), read through the helpers every Windows parser uses for dates. The probes' own
 * script outputs were not found recorded anywhere; see the README.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSystemInfoWindows } from './system_info.win32.js';
import { parseQuser, quserTime } from './users.win32.js';
import { dateOf } from './windows.js';

const dir = fileURLToPath(new URL('./fixtures/win32/', import.meta.url));
const text = (f: string) => readFileSync(join(dir, f), 'utf8');
const json = (f: string) => JSON.parse(text(f)) as Record<string, unknown>;

describe('ConvertTo-Json dates recorded on Windows PowerShell 5.1', () => {
  it('a plain DateTime property is "\\/Date(ms)\\/" in UTC milliseconds (Get-Date | Select-Object *, PowerShell docs)', () => {
    const o = json('real-psdocs-convertto-json-getdate.json');
    // Friday, January 13, 2012 (Kind 2 = local, Pacific time): its midnight is 08:00 UTC.
    expect(dateOf(o.Date)).toBe(Date.parse('2012-01-13T08:00:00Z'));
    // Read as Win32_BIOS.ReleaseDate (CIM dates carry their UTC offset, +000 for a BIOS date), the UTC day is the date.
    const row = parseSystemInfoWindows({ ComputerSystem: { Name: 'pc' }, BIOS: { ReleaseDate: o.Date } })[0]!;
    expect(row.bios_date).toBe('2012-01-13');
  });

  it('a DateTime with extended type data is {value, DisplayHint, DateTime}; the value is read, not the local text', () => {
    // "18 February 2017 18:04:12" is the en-GB rendering of the same instant (GMT in February).
    expect(dateOf(json('real-cvservicemap-convertto-json-datetime.json'))).toBe(Date.parse('2017-02-18T18:04:12.493Z'));
  });

  it('dates before 1970 come out negative and are read as no date (CIM uses 1601-01-01 for "none")', () => {
    const cal = json('real-psdocs-convertto-json-calendar.json');
    expect(dateOf(cal.MinSupportedDateTime)).toBeNull();
    expect(dateOf(cal.MaxSupportedDateTime)).toBe(253402300799999);
  });
});

describe('quser recorded on a German-locale Windows (Linuxfabrik users plugin)', () => {
  it('reads the day-first dotted LOGON TIME ("24.08.2022 17:42") as local time', () => {
    // The plugin prints quser's table without its first column (" " or ">" for the current session) and appends its
    // perfdata after "|": both are put back / cut here to give the lines quser printed.
    const lines = text('real-linuxfabrik-users-plugin-windows.txt').trimEnd().split('\n');
    const quser = lines.map((l) => ` ${l.split('|')[0]}`).join('\n');
    expect(parseQuser(quser)).toEqual([
      expect.objectContaining({
        kind: 'session',
        name: 'administrator',
        terminal: 'rdp-tcp#11',
        started_at: new Date(2022, 7, 24, 17, 42).getTime(),
      }),
    ]);
  });

  it('other LOGON TIME formats still go through Date.parse; an unreadable one is no date, not a wrong one', () => {
    expect(quserTime('11/20/2026 8:02 AM')).toBe(new Date(2026, 10, 20, 8, 2).getTime());
    expect(Number.isNaN(quserTime('24/08/2022 17:42'))).toBe(true);
  });
});
