/** The memory probe: installed memory: the total and each module where the firmware exposes it. */

import { collectMemoryDarwin } from './memory.darwin.js';
import { collectMemoryLinux } from './memory.linux.js';
import { collectMemoryWindows } from './memory.win32.js';
import { defineProbe, HOUR } from './probe.js';

/** Installed memory: the total and each module where the firmware exposes it. */
export const memoryProbe = defineProbe({
  name: 'memory',
  description: 'Installed memory: the total and each module where the firmware exposes it.',
  intervalMs: 6 * HOUR,
  collect: { linux: collectMemoryLinux, win32: collectMemoryWindows, darwin: collectMemoryDarwin },
});
