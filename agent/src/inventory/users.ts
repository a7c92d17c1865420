/** The users probe: local accounts and logged-in sessions. */

import { defineProbe, HOUR } from './probe.js';
import { collectUsersDarwin } from './users.darwin.js';
import { collectUsersLinux } from './users.linux.js';
import { collectUsersWindows } from './users.win32.js';

/** Local accounts and logged-in sessions. */
export const usersProbe = defineProbe({
  name: 'users',
  description: 'Local accounts and logged-in sessions.',
  intervalMs: HOUR,
  collect: { linux: collectUsersLinux, win32: collectUsersWindows, darwin: collectUsersDarwin },
});
