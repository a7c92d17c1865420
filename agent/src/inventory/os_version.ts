/** The os_version probe: operating system: name, version, build, kernel, architecture, install date, last boot, time zone. */

import { collectOsVersionDarwin } from './os_version.darwin.js';
import { collectOsVersionLinux } from './os_version.linux.js';
import { collectOsVersionWindows } from './os_version.win32.js';
import { defineProbe, HOUR } from './probe.js';

/** Operating system: name, version, build, kernel, architecture, install date, last boot, time zone. */
export const osVersionProbe = defineProbe({
  name: 'os_version',
  description: 'Operating system: name, version, build, kernel, architecture, install date, last boot, time zone.',
  intervalMs: HOUR,
  collect: { linux: collectOsVersionLinux, win32: collectOsVersionWindows, darwin: collectOsVersionDarwin },
});
