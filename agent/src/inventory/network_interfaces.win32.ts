/** network_interfaces on Windows: Win32_NetworkAdapterConfiguration (addresses, gateway) joined to Win32_NetworkAdapter. */
import type { ProbeRow } from '@outpost/shared';
import { intOrNull, type ProbeContext, str } from './probe.js';
import { asArray, objectOf, powershellJson, prefixLength } from './windows.js';

/** The PowerShell script whose JSON `parseNetworkWindows` reads. */
export const NETWORK_PS = [
  "$c=@(Get-CimInstance Win32_NetworkAdapterConfiguration -Filter 'IPEnabled=True' | Select-Object InterfaceIndex,Description,MACAddress,IPAddress,IPSubnet,DefaultIPGateway)",
  '$a=@(Get-CimInstance Win32_NetworkAdapter | Select-Object InterfaceIndex,NetConnectionID,Speed,PhysicalAdapter)',
  '[pscustomobject]@{Configurations=$c;Adapters=$a} | ConvertTo-Json -Depth 4 -Compress',
].join('; ');

const strings = (v: unknown): string[] => (Array.isArray(v) ? v : v ? [v] : []).map(str).filter(Boolean);

/** Parses the script's JSON: one row per IP-enabled adapter. */
export function parseNetworkWindows(json: unknown): ProbeRow<'network_interfaces'>[] {
  const o = objectOf('network_interfaces', json, 'the network output');
  const adapters = new Map(asArray(o.Adapters).map((a) => [str(a.InterfaceIndex), a]));
  return asArray(o.Configurations).map((c) => {
    const a = adapters.get(str(c.InterfaceIndex)) ?? {};
    const ips = strings(c.IPAddress);
    const masks = strings(c.IPSubnet);
    const withPrefix = (ip: string, i: number) => {
      const p = prefixLength(masks[i] ?? '');
      return p === null ? ip : `${ip}/${p}`;
    };
    const gw = strings(c.DefaultIPGateway).find((g) => g.includes('.')) ?? strings(c.DefaultIPGateway)[0] ?? '';
    const speed = intOrNull(a.Speed);
    return {
      name: str(a.NetConnectionID) || str(c.Description),
      mac: str(c.MACAddress).toLowerCase(),
      ipv4: ips.map(withPrefix).filter((x) => !x.includes(':')),
      ipv6: ips.map(withPrefix).filter((x) => x.includes(':')),
      // Speed is bits/s; an absent link reports 9223372036854775807.
      speed_mbps: speed !== null && speed < 1e15 ? Math.round(speed / 1e6) : null,
      gateway: gw,
      is_default: gw !== '',
      virtual: a.PhysicalAdapter === false,
    };
  });
}

/** Collects the interface rows. */
export async function collectNetworkWindows(ctx: ProbeContext): Promise<ProbeRow<'network_interfaces'>[]> {
  return parseNetworkWindows(await powershellJson(ctx, 'network_interfaces', NETWORK_PS));
}
