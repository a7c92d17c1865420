/** network_interfaces on Linux: addresses from the OS, speed and kind from /sys/class/net, gateway from /proc/net/route. */
import { networkInterfaces } from 'node:os';
import type { ProbeRow } from '@outpost/shared';
import type { ProbeContext } from './probe.js';

/** Parses /proc/net/route: interface → default gateway (dotted quad). */
export function parseRoutes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n').slice(1)) {
    const [iface, dest, gw, , , , , mask] = line.trim().split(/\s+/);
    if (!iface || dest !== '00000000' || mask !== '00000000' || !gw) continue;
    const n = Number.parseInt(gw, 16);
    out.set(iface, [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.'));
  }
  return out;
}

/** Builds the interface rows from node's view of addresses plus the route table. */
export function interfaceRows(
  ifaces: ReturnType<typeof networkInterfaces>,
  gateways: Map<string, string>,
  speeds: Map<string, number | null>,
  physical: Set<string>,
): ProbeRow<'network_interfaces'>[] {
  return Object.entries(ifaces)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, addrs]) => ({
      name,
      mac: (addrs?.[0]?.mac ?? '').toLowerCase(),
      ipv4: (addrs ?? []).filter((a) => a.family === 'IPv4').map((a) => a.cidr ?? a.address),
      ipv6: (addrs ?? []).filter((a) => a.family === 'IPv6').map((a) => a.cidr ?? a.address),
      speed_mbps: speeds.get(name) ?? null,
      gateway: gateways.get(name) ?? '',
      is_default: gateways.has(name),
      virtual: !physical.has(name),
    }));
}

/** Collects the interface rows. */
export async function collectNetworkLinux(ctx: ProbeContext): Promise<ProbeRow<'network_interfaces'>[]> {
  const ifaces = networkInterfaces();
  const gateways = parseRoutes((await ctx.readText('/proc/net/route')) ?? '');
  const speeds = new Map<string, number | null>();
  const physical = new Set<string>();
  for (const name of Object.keys(ifaces)) {
    const speed = Number(((await ctx.readText(`/sys/class/net/${name}/speed`)) ?? '').trim());
    speeds.set(name, Number.isInteger(speed) && speed > 0 ? speed : null);
    // A physical NIC has a device link; /sys/class/net/<if>/device/uevent exists only for those.
    if ((await ctx.readText(`/sys/class/net/${name}/device/uevent`)) !== undefined) physical.add(name);
  }
  return interfaceRows(ifaces, gateways, speeds, physical);
}
