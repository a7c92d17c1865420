/** The system_info probe: hardware identity: manufacturer, model, serial, SMBIOS UUID, BIOS, chassis. */

import { defineProbe, HOUR } from './probe.js';
import { collectSystemInfoDarwin } from './system_info.darwin.js';
import { collectSystemInfoLinux } from './system_info.linux.js';
import { collectSystemInfoWindows } from './system_info.win32.js';

/** Hardware identity: manufacturer, model, serial, SMBIOS UUID, BIOS, chassis. */
export const systemInfoProbe = defineProbe({
  name: 'system_info',
  description: 'Hardware identity: manufacturer, model, serial, SMBIOS UUID, BIOS, chassis.',
  intervalMs: 6 * HOUR,
  collect: { linux: collectSystemInfoLinux, win32: collectSystemInfoWindows, darwin: collectSystemInfoDarwin },
});
