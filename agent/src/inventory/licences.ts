/** The licences probe: oS activation and antivirus products: enabled, up to date, definition age, licence expiry. */
import { collectLicencesLinux } from './licences.linux.js';
import { defineProbe, HOUR } from './probe.js';

/** OS activation and antivirus products: enabled, up to date, definition age, licence expiry. */
export const licencesProbe = defineProbe({
  name: 'licences',
  description: 'OS activation and antivirus products: enabled, up to date, definition age, licence expiry.',
  intervalMs: HOUR,
  collect: { linux: collectLicencesLinux },
});
