/** The services probe: services and daemons with their state and start mode. */

import { defineProbe, HOUR } from './probe.js';
import { collectServicesDarwin } from './services.darwin.js';
import { collectServicesLinux } from './services.linux.js';
import { collectServicesWindows } from './services.win32.js';

/** Services and daemons with their state and start mode. */
export const servicesProbe = defineProbe({
  name: 'services',
  description: 'Services and daemons with their state and start mode.',
  intervalMs: HOUR,
  collect: { linux: collectServicesLinux, win32: collectServicesWindows, darwin: collectServicesDarwin },
});
