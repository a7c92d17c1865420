/** The users probe: local accounts and logged-in sessions. */

import { defineProbe, HOUR } from './probe.js';
import { collectUsersLinux } from './users.linux.js';

/** Local accounts and logged-in sessions. */
export const usersProbe = defineProbe({
  name: 'users',
  description: 'Local accounts and logged-in sessions.',
  intervalMs: HOUR,
  collect: { linux: collectUsersLinux },
});
