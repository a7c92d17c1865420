/** The network_interfaces probe: network interfaces: MAC, addresses, link speed, default gateway. */

import { collectNetworkDarwin } from './network_interfaces.darwin.js';
import { collectNetworkLinux } from './network_interfaces.linux.js';
import { collectNetworkWindows } from './network_interfaces.win32.js';
import { defineProbe, HOUR } from './probe.js';

/** Network interfaces: MAC, addresses, link speed, default gateway. */
export const networkInterfacesProbe = defineProbe({
  name: 'network_interfaces',
  description: 'Network interfaces: MAC, addresses, link speed, default gateway.',
  intervalMs: HOUR,
  collect: { linux: collectNetworkLinux, win32: collectNetworkWindows, darwin: collectNetworkDarwin },
});
