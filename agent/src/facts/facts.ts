/** The basic machine facts every hello carries, read with systeminformation (bounded to the schema's lengths). */
import { hostname } from 'node:os';
import type { AgentFacts } from '@outpost/shared';
import si from 'systeminformation';

const clip = (s: string | undefined, n: number) => (s ?? '').replace(/[\x00-\x1f\x7f]/g, '').slice(0, n);

/** Collects the hello facts; falls back to node:os values where systeminformation has nothing. */
export async function collectFacts(): Promise<AgentFacts> {
  const [os, cpu, mem] = await Promise.all([si.osInfo(), si.cpu(), si.mem()]);
  return {
    hostname: clip(os.hostname || hostname(), 255) || 'unknown',
    os: {
      platform: clip(os.platform || process.platform, 32),
      distro: clip(os.distro, 128),
      release: clip(os.release, 64),
      kernel: clip(os.kernel, 128),
      arch: clip(os.arch || process.arch, 32),
    },
    cpu: { model: clip(`${cpu.manufacturer} ${cpu.brand}`.trim(), 256), cores: cpu.cores || 0 },
    memoryBytes: Math.max(0, Math.trunc(mem.total)),
  };
}
