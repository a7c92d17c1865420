/** The installed_software probe: installed software from every package database present. */

import { collectSoftwareDarwin } from './installed_software.darwin.js';
import { collectSoftwareLinux } from './installed_software.linux.js';
import { collectSoftwareWindows } from './installed_software.win32.js';
import { defineProbe, HOUR } from './probe.js';

/** Installed software from every package database present. */
export const installedSoftwareProbe = defineProbe({
  name: 'installed_software',
  description: 'Installed software from every package database present.',
  intervalMs: HOUR,
  collect: { linux: collectSoftwareLinux, win32: collectSoftwareWindows, darwin: collectSoftwareDarwin },
});
