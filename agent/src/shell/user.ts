/** Who a session runs as: the configured user (from /etc/passwd) for ordinary sessions, root for elevated ones. */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { OutpostError } from '@outpost/shared';

/** A resolved account. */
export interface ShellUser {
  name: string;
  uid: number | undefined;
  gid: number | undefined;
  home: string;
  /** The account's login shell from the passwd file, if any. */
  shell: string | undefined;
}

/** Looks a user up by name or numeric uid in a passwd file. */
export function lookupUser(nameOrUid: string, passwd = '/etc/passwd'): ShellUser | undefined {
  let text: string;
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    if (f[0] === nameOrUid || f[2] === nameOrUid) {
      return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/', shell: f[6] || undefined };
    }
  }
  return undefined;
}

/** The account a session runs as, or a coded refusal explaining why it cannot run. */
export function resolveShellUser(opts: {
  elevated: boolean;
  configuredUser: string | undefined;
  allowElevated: boolean;
}): ShellUser {
  const isRoot = process.platform !== 'win32' && process.getuid?.() === 0;
  const me = userInfo();
  if (opts.elevated) {
    if (!opts.allowElevated)
      throw new OutpostError('OUTPOST_E_SESSION_REFUSED', { message: 'elevated sessions are disabled on this agent' });
    if (process.platform === 'win32')
      return { name: me.username, uid: undefined, gid: undefined, home: me.homedir, shell: undefined };
    if (!isRoot)
      throw new OutpostError('OUTPOST_E_SESSION_REFUSED', {
        message: `elevated session refused: the agent runs as ${me.username}, not root`,
      });
    return lookupUser('0') ?? { name: 'root', uid: 0, gid: 0, home: '/root', shell: undefined };
  }
  if (!isRoot) return { name: me.username, uid: undefined, gid: undefined, home: me.homedir, shell: undefined };
  if (!opts.configuredUser)
    throw new OutpostError('OUTPOST_E_SESSION_REFUSED', {
      message:
        'the agent runs as root and no shell.user is configured for non-elevated sessions: set "shell": { "user": "<an unprivileged user>" } in its agent.json and restart it, or open an elevated session (`outpost shell <agent> --elevated`)',
    });
  const u = lookupUser(opts.configuredUser);
  if (!u) throw new OutpostError('OUTPOST_E_SESSION_REFUSED', { message: `unknown shell.user ${opts.configuredUser}` });
  if (u.uid === 0)
    throw new OutpostError('OUTPOST_E_SESSION_REFUSED', {
      message: 'shell.user must not be root; use an elevated session',
    });
  return u;
}
