/** The pending_patches probe: pending updates (security or not), installed hotfixes, and whether a reboot is required. */

import { collectPatchesDarwin } from './pending_patches.darwin.js';
import { collectPatchesLinux } from './pending_patches.linux.js';
import { collectPatchesWindows } from './pending_patches.win32.js';
import { defineProbe, HOUR } from './probe.js';

/** Pending updates (security or not), installed hotfixes, and whether a reboot is required. */
export const pendingPatchesProbe = defineProbe({
  name: 'pending_patches',
  description: 'Pending updates (security or not), installed hotfixes, and whether a reboot is required.',
  intervalMs: HOUR,
  collect: { linux: collectPatchesLinux, win32: collectPatchesWindows, darwin: collectPatchesDarwin },
});
