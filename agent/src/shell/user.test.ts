/** Who a session runs as, checked on this machine's real passwd (the agent's own identity decides the rules). */
import { describe, expect, it } from 'vitest';
import { resolveShellUser } from './user.js';

const isRoot = process.platform !== 'win32' && process.getuid?.() === 0;

describe('resolveShellUser', () => {
  it.skipIf(!isRoot)('as root without shell.user, says what to set and the elevated alternative', () => {
    expect(() => resolveShellUser({ elevated: false, configuredUser: undefined, allowElevated: true })).toThrow(
      /no shell\.user is configured .*"shell": \{ "user": .*agent\.json.*outpost shell <agent> --elevated/,
    );
  });

  it.skipIf(isRoot || process.platform === 'win32')('not as root, sessions run as the agent’s own user', () => {
    const u = resolveShellUser({ elevated: false, configuredUser: undefined, allowElevated: true });
    expect(u.uid).toBeUndefined();
  });
});
