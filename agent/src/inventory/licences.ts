/** The licences probe: oS activation and antivirus products: enabled, up to date, definition age, licence expiry. */

import { collectLicencesDarwin } from './licences.darwin.js';
import { collectLicencesLinux } from './licences.linux.js';
import { collectLicencesWindows } from './licences.win32.js';
import { defineProbe, HOUR } from './probe.js';

/** OS activation and antivirus products: enabled, up to date, definition age, licence expiry. */
export const licencesProbe = defineProbe({
  name: 'licences',
  description: 'OS activation and antivirus products: enabled, up to date, definition age, licence expiry.',
  intervalMs: HOUR,
  collect: { linux: collectLicencesLinux, win32: collectLicencesWindows, darwin: collectLicencesDarwin },
});
