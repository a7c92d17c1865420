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
import { dateOf } from './windows.js';

const dir = fileURLToPath(new URL('./fixtures/win32/', import.meta.url));
const json = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;

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
