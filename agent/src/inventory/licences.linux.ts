/**
 * licences on Linux: no OS activation; ClamAV when installed, with the date of its newest signature database
 * (from the CVD header) and whether its daemon or updater runs; Microsoft Defender for Endpoint (`mdatp health`).
 */
import { open, readdir } from 'node:fs/promises';
import type { ProbeRow } from '@outpost/shared';
import { collectMdatp } from './mdatp.js';
import type { ProbeContext } from './probe.js';

const DAY = 86_400_000;

/** Parses a CVD/CLD header (`ClamAV-VDB:07 Jan 2024 08-27 -0500:27147:...`) into its build time and version. */
export function parseCvdHeader(header: string): { time: number | null; version: string } {
  const f = header.split(':');
  if (f[0] !== 'ClamAV-VDB' || f.length < 3) return { time: null, version: '' };
  const m = /^(\d{1,2}) (\w{3}) (\d{4}) (\d{2})-(\d{2}) ([+-]\d{4})$/.exec(f[1]!.trim());
  const t = m ? Date.parse(`${m[1]} ${m[2]} ${m[3]} ${m[4]}:${m[5]} ${m[6]}`) : Number.NaN;
  return { time: Number.isFinite(t) ? t : null, version: f[2] ?? '' };
}

async function header(path: string): Promise<string | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(512);
      const { bytesRead } = await fh.read(buf, 0, 512, 0);
      return buf.subarray(0, bytesRead).toString('latin1');
    } finally {
      await fh.close();
    }
  } catch {
    // absent database file
    return undefined;
  }
}

async function running(names: string[]): Promise<boolean> {
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const fh = await open(`/proc/${pid}/comm`, 'r');
      const comm = (await fh.readFile('utf8')).trim();
      await fh.close();
      if (names.includes(comm)) return true;
    } catch {
      // the process ended while listing
    }
  }
  return false;
}

/** Collects AV rows: ClamAV, and Microsoft Defender for Endpoint when installed. */
export async function collectLicencesLinux(ctx: ProbeContext): Promise<ProbeRow<'licences'>[]> {
  const [clam, mdatp] = await Promise.all([collectClamav(ctx), collectMdatp(ctx)]);
  return [...clam, ...mdatp];
}

async function collectClamav(ctx: ProbeContext): Promise<ProbeRow<'licences'>[]> {
  let newest: { time: number | null; version: string } | undefined;
  for (const f of ['daily.cld', 'daily.cvd', 'main.cld', 'main.cvd']) {
    const h = await header(`/var/lib/clamav/${f}`);
    if (!h) continue;
    const parsed = parseCvdHeader(h);
    if (!newest || (parsed.time ?? 0) > (newest.time ?? 0)) newest = parsed;
  }
  if (!newest && !(await ctx.has('clamscan')) && !(await ctx.has('clamd'))) return [];
  const enabled = await running(['clamd', 'freshclam']);
  return [
    {
      kind: 'antivirus',
      product: 'ClamAV',
      state: enabled ? 'enabled' : 'disabled',
      channel: '',
      enabled,
      up_to_date: newest?.time ? ctx.now() - newest.time < 3 * DAY : false,
      definitions_date: newest?.time ?? null,
      expires_at: null,
      version: newest?.version ?? '',
    },
  ];
}
