/**
 * The basic machine facts every hello carries (bounded to the schema's lengths): the OS as the os_version inventory
 * probe reads it (os-release, sw_vers, the registry), the rest from node:os. One source of OS facts for the hello and
 * the inventory, and no dependency for it.
 */
import { availableParallelism, cpus, hostname, release, totalmem } from 'node:os';
import type { AgentFacts } from '@outpost/shared';
import { systemProbeContext } from '../inventory/exec.js';
import { osVersionProbe } from '../inventory/os_version.js';

const clip = (s: string | undefined, n: number) => (s ?? '').replace(/[\x00-\x1f\x7f]/g, '').slice(0, n);

/** The os_version row of this machine, or undefined where the probe has no collector or fails (the hello still goes). */
async function osRow() {
  const collect = osVersionProbe.collect[process.platform as keyof typeof osVersionProbe.collect];
  try {
    return collect ? (await collect(systemProbeContext()))[0] : undefined;
  } catch {
    // Facts are best effort: node:os answers below; the inventory reports the probe's failure with its reason.
    return undefined;
  }
}

/** Collects the hello facts. */
export async function collectFacts(): Promise<AgentFacts> {
  const os = await osRow();
  const cpu = cpus();
  return {
    hostname: clip(hostname(), 255) || 'unknown',
    os: {
      platform: clip(process.platform, 32),
      distro: clip(os?.name, 128),
      release: clip(os?.version, 64),
      kernel: clip(os?.kernel || release(), 128),
      arch: clip(os?.arch || process.arch, 32),
    },
    cpu: { model: clip(cpu[0]?.model.trim(), 256), cores: cpu.length || availableParallelism() },
    memoryBytes: Math.max(0, Math.trunc(totalmem())),
  };
}
