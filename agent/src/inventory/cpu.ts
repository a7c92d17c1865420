/** The cpu probe: processors: model, packages, cores, logical and available processors. */

import { collectCpuDarwin } from './cpu.darwin.js';
import { collectCpuLinux } from './cpu.linux.js';
import { collectCpuWindows } from './cpu.win32.js';
import { defineProbe, HOUR } from './probe.js';

/** Processors: model, packages, cores, logical and available processors. */
export const cpuProbe = defineProbe({
  name: 'cpu',
  description: 'Processors: model, packages, cores, logical and available processors.',
  intervalMs: 6 * HOUR,
  collect: { linux: collectCpuLinux, win32: collectCpuWindows, darwin: collectCpuDarwin },
});
