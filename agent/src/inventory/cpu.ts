/** The cpu probe: processors: model, packages, cores, logical and available processors. */
import { collectCpuLinux } from './cpu.linux.js';
import { defineProbe, HOUR } from './probe.js';

/** Processors: model, packages, cores, logical and available processors. */
export const cpuProbe = defineProbe({
  name: 'cpu',
  description: 'Processors: model, packages, cores, logical and available processors.',
  intervalMs: 6 * HOUR,
  collect: { linux: collectCpuLinux },
});
