/**
 * The fresh snapshot a request carries (docs/0014-requests.md): disks, memory, load and the top processes, read at
 * the moment the user asks — what a helpdesk that knows the machine looks at first. The top processes come from the
 * metrics sampler over two rounds half a second apart (CPU shares need two reads).
 */
import { readFileSync, statfsSync } from 'node:fs';
import { freemem, loadavg, totalmem, uptime } from 'node:os';
import type { RequestSnapshot } from '@outpost/shared';
import { samplerFor } from '../metrics/index.js';

/** Between the two sampler rounds: long enough for CPU shares to mean something, short enough for a person waiting. */
const CPU_WINDOW_MS = 500;
const MAX_DISKS = 64;

/** Mount points worth reporting: real devices on Linux, the root elsewhere. */
function mounts(): string[] {
  if (process.platform !== 'linux') return [process.platform === 'win32' ? 'C:\\' : '/'];
  try {
    const seen = new Set<string>();
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, mount, fs] = line.split(' ');
      if (dev?.startsWith('/dev/') && mount && fs !== 'squashfs') seen.add(mount.replace(/\\040/g, ' '));
    }
    return seen.size ? [...seen].slice(0, MAX_DISKS) : ['/'];
  } catch {
    return ['/'];
  }
}

/** Reads the snapshot; a source that fails is left out, never fails the request. */
export async function takeSnapshot(): Promise<RequestSnapshot> {
  const disks: RequestSnapshot['disks'] = [];
  for (const mount of mounts()) {
    try {
      const st = statfsSync(mount);
      disks.push({ mount: mount.slice(0, 512), totalBytes: st.blocks * st.bsize, freeBytes: st.bavail * st.bsize });
    } catch {
      // Unreadable mount point (permissions, gone): skipped.
    }
  }
  let topProcesses: RequestSnapshot['topProcesses'] = [];
  const sampler = samplerFor(process.platform);
  if (sampler) {
    try {
      await sampler.sample(Date.now());
      await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
      topProcesses = (await sampler.sample(Date.now())).top.slice(0, 20);
    } catch {
      // The processes are context, not the request: send without them.
    } finally {
      sampler.stop?.();
    }
  }
  return {
    disks,
    memory: { totalBytes: totalmem(), freeBytes: freemem() },
    load: loadavg().map((x) => Math.round(x * 100) / 100),
    uptimeSec: Math.floor(uptime()),
    topProcesses,
  };
}
