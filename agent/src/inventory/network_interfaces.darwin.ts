/** network_interfaces on macOS: `ifconfig` (addresses, MAC, media speed) and `route -n get default` (gateway). */
import type { ProbeRow } from '@outpost/shared';
import { keyValues } from './darwin.js';
import { badOutput, type ProbeContext } from './probe.js';

/** Parses `ifconfig` (all interfaces) and `route -n get default` into interface rows. */
export function parseIfconfig(text: string, route: string): ProbeRow<'network_interfaces'>[] {
  const r = keyValues(route);
  const gwIf = r.get('interface') ?? '';
  const gw = r.get('gateway') ?? '';
  const rows: ProbeRow<'network_interfaces'>[] = [];
  let cur: ProbeRow<'network_interfaces'> | undefined;
  for (const line of text.split('\n')) {
    // Names are not all lower case: Intel Macs list the USB controller's pseudo-interface as XHC20.
    const head = /^([A-Za-z][\w.]*): flags=/.exec(line);
    if (head) {
      cur = {
        name: head[1]!,
        mac: '',
        ipv4: [],
        ipv6: [],
        speed_mbps: null,
        gateway: head[1] === gwIf ? gw : '',
        is_default: head[1] === gwIf,
        virtual: !/^en\d/.test(head[1]!),
      };
      rows.push(cur);
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    const ether = /^ether ([0-9a-f:]{17})/i.exec(t);
    // A point-to-point link (utun VPN) prints its peer: `inet 10.75.129.190 --> 10.75.129.190 netmask 0xffffff00`.
    const inet = /^inet (\S+)(?: --> \S+)? netmask 0x([0-9a-f]{8})/i.exec(t);
    const inet6 = /^inet6 (\S+?)(?:%\S+)? prefixlen (\d+)/.exec(t);
    const media = /^media: .*\((\d+)(G?)base/i.exec(t); // 1000baseT, 10GbaseT, 2500Base-T
    if (ether) cur.mac = ether[1]!.toLowerCase();
    else if (inet) {
      const bits = Number.parseInt(inet[2]!, 16).toString(2).replace(/0/g, '').length;
      cur.ipv4.push(`${inet[1]}/${bits}`);
    } else if (inet6) cur.ipv6.push(`${inet6[1]}/${inet6[2]}`);
    else if (media) cur.speed_mbps = Number(media[1]) * (media[2] === 'G' ? 1000 : 1);
  }
  // Every Mac has lo0: no interface at all means the output is not ifconfig's.
  if (rows.length === 0) badOutput('network_interfaces', 'ifconfig listed no interface', text);
  return rows;
}

/** Collects the interface rows (no default route is normal offline: route exits non-zero then). */
export async function collectNetworkDarwin(ctx: ProbeContext): Promise<ProbeRow<'network_interfaces'>[]> {
  const [ifconfig, route] = await Promise.all([
    ctx.exec('ifconfig', []),
    ctx.exec('route', ['-n', 'get', 'default']).catch(() => ''),
  ]);
  return parseIfconfig(ifconfig, route);
}
