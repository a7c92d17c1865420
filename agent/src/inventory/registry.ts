/**
 * The one list of inventory probes (osquery's table registry): every probe is imported statically, so the agent
 * bundles into one file, and the platform implementation is picked here, once.
 */
import { OutpostError, type ProbeName } from '@outpost/shared';
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

/**
 * Every probe bound to `platform`'s implementation; on a platform a probe has none for, it is bound to a collect
 * that fails with OUTPOST_E_PROBE_UNSUPPORTED, so the collector shows why the probe has no rows.
 */
export function probesFor(platform: string = process.platform): RunnableProbe[] {
  return PROBES.map((probe) => ({
    probe,
    collect: probe.collect[platform as Platform] ?? unsupported(probe, platform),
  }));
}

function unsupported(probe: Probe, platform: string): Collect<ProbeName> {
  return async () => {
    throw new OutpostError('OUTPOST_E_PROBE_UNSUPPORTED', {
      message: `${probe.name} has no implementation for ${platform} (it runs on ${Object.keys(probe.collect).join(', ')})`,
      details: { probe: probe.name, platform },
    });
  };
}
