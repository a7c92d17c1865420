/** The disks probe: physical disks (model, serial, size, type, SMART health) and mounted volumes (file system, size, free). */

import { collectDisksDarwin } from './disks.darwin.js';
import { collectDisksLinux } from './disks.linux.js';
import { collectDisksWindows } from './disks.win32.js';
import { defineProbe, HOUR } from './probe.js';

/** Physical disks (model, serial, size, type, SMART health) and mounted volumes (file system, size, free). */
export const disksProbe = defineProbe({
  name: 'disks',
  description:
    'Physical disks (model, serial, size, type, SMART health) and mounted volumes (file system, size, free).',
  intervalMs: HOUR,
  collect: { linux: collectDisksLinux, win32: collectDisksWindows, darwin: collectDisksDarwin },
});
