/**
 * The one list of inventory probes (osquery's table registry): every probe is imported statically, so the agent
 * bundles into one file, and the platform implementation is picked here, once.
 */
import type { ProbeName } from '@outpost/shared';
import { cpuProbe } from './cpu.js';
import { disksProbe } from './disks.js';
import { installedSoftwareProbe } from './installed_software.js';
import { licencesProbe } from './licences.js';
import { memoryProbe } from './memory.js';
import { networkInterfacesProbe } from './network_interfaces.js';
import { osVersionProbe } from './os_version.js';
import { pendingPatchesProbe } from './pending_patches.js';
import type { Collect, Platform, Probe } from './probe.js';
import { servicesProbe } from './services.js';
import { systemInfoProbe } from './system_info.js';
import { usersProbe } from './users.js';

/** Every probe, in report order. */
export const PROBES: readonly Probe[] = [
  systemInfoProbe,
  cpuProbe,
  memoryProbe,
  disksProbe,
  networkInterfacesProbe,
  osVersionProbe,
  usersProbe,
  installedSoftwareProbe,
  servicesProbe,
  licencesProbe,
  pendingPatchesProbe,
] as unknown as Probe[];

/** A probe bound to this platform's implementation. */
export interface RunnableProbe {
  probe: Probe;
  collect: Collect<ProbeName>;
}

/** The probes that run on `platform` with their implementation. */
export function probesFor(platform: string = process.platform): RunnableProbe[] {
  const out: RunnableProbe[] = [];
  for (const probe of PROBES) {
    const collect = probe.collect[platform as Platform];
    if (collect) out.push({ probe, collect });
  }
  return out;
}
