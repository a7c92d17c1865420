/** The services probe: services and daemons with their state and start mode. */

import { defineProbe, HOUR } from './probe.js';
import { collectServicesLinux } from './services.linux.js';

/** Services and daemons with their state and start mode. */
export const servicesProbe = defineProbe({
  name: 'services',
  description: 'Services and daemons with their state and start mode.',
  intervalMs: HOUR,
  collect: { linux: collectServicesLinux },
});
