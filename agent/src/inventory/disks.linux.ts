/** disks on Linux: drives from `lsblk -J`, volumes from /proc/self/mounts and statfs, SMART health from smartctl. */
import { statfs } from 'node:fs/promises';
import type { ProbeRow } from '@outpost/shared';
import { badOutput, type ProbeContext, parseJsonOutput, str } from './probe.js';

const MiB = 1024 * 1024;
const REAL_FS = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'zfs',
  'vfat',
  'exfat',
  'ntfs',
  'ntfs3',
  'f2fs',
  'jfs',
  'reiserfs',
  'hfsplus',
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  'fuseblk',
]);

/** Parses `lsblk -J -b -d -o NAME,MODEL,SERIAL,SIZE,ROTA,TYPE,TRAN` into disk rows (empty and RAM disks skipped). */
export function parseLsblk(text: string): ProbeRow<'disks'>[] {
  const doc = parseJsonOutput('disks', text) as { blockdevices?: unknown };
  if (!Array.isArray(doc.blockdevices)) badOutput('disks', 'lsblk output has no blockdevices array', text);
  const rows: ProbeRow<'disks'>[] = [];
  for (const d of doc.blockdevices as Record<string, unknown>[]) {
    const name = str(d.name);
    const size = Number(d.size);
    if (str(d.type) !== 'disk' || !name || !(size > 0) || /^(zram|ram|loop)/.test(name)) continue;
    const rota = d.rota === true || d.rota === '1' || d.rota === 1;
    const tran = str(d.tran);
    const type = name.startsWith('nvme')
      ? 'nvme'
      : tran === 'usb'
        ? 'usb'
        : /^(vd|xvd)/.test(name)
          ? 'virtual'
          : rota
            ? 'hdd'
            : 'ssd';
    rows.push({
      kind: 'disk',
      name,
      model: str(d.model).trim(),
      serial: str(d.serial).trim(),
      type,
      size_bytes: Math.trunc(size),
      free_bytes: null,
      filesystem: '',
      mount: '',
      smart_health: 'unknown',
    });
  }
  return rows;
}

/** The mounts worth reporting from /proc/self/mounts: real file systems, each mount point once. */
export function parseMounts(text: string): { device: string; mount: string; fs: string }[] {
  const seen = new Set<string>();
  const out: { device: string; mount: string; fs: string }[] = [];
  for (const line of text.split('\n')) {
    const [device, rawMount, fs] = line.split(' ');
    if (!device || !rawMount || !fs || !REAL_FS.has(fs)) continue;
    const mount = rawMount.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (seen.has(mount)) continue;
    seen.add(mount);
    out.push({ device, mount, fs });
  }
  return out;
}

/** Collects drive and volume rows. */
export async function collectDisksLinux(ctx: ProbeContext): Promise<ProbeRow<'disks'>[]> {
  const rows: ProbeRow<'disks'>[] = [];
  if (await ctx.has('lsblk')) {
    rows.push(
      ...parseLsblk(await ctx.exec('lsblk', ['-J', '-b', '-d', '-o', 'NAME,MODEL,SERIAL,SIZE,ROTA,TYPE,TRAN'])),
    );
  }
  if (process.getuid?.() === 0 && rows.length > 0 && (await ctx.has('smartctl'))) {
    for (const r of rows) {
      // smartctl -H exits non-zero with bit flags even when it read the health; the text decides.
      const out = await ctx
        .exec('smartctl', ['-H', `/dev/${r.name}`], { okCodes: [1, 2, 4, 8, 16, 32, 64, 128] })
        .catch(() => '');
      if (/PASSED|: OK/.test(out)) r.smart_health = 'ok';
      else if (/FAILED/.test(out)) r.smart_health = 'failing';
    }
  }
  const mounts = parseMounts((await ctx.readText('/proc/self/mounts')) ?? '');
  for (const m of mounts) {
    try {
      const s = await statfs(m.mount);
      rows.push({
        kind: 'volume',
        name: m.device,
        model: '',
        serial: '',
        type: '',
        size_bytes: s.blocks * s.bsize,
        free_bytes: Math.floor((s.bavail * s.bsize) / MiB) * MiB,
        filesystem: m.fs,
        mount: m.mount,
        smart_health: 'unknown',
      });
    } catch {
      // A mount that vanished or refuses statfs (stale NFS) is skipped, not fatal for the other volumes.
    }
  }
  return rows;
}
