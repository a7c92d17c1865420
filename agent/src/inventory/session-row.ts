import type { ProbeRow } from '@outpost/shared';

/** A logged-in session as a users row: the account fields stay empty, since `who`/`query user` show none. */
export function sessionRow(name: string, terminal: string, host: string, startedAt: number): ProbeRow<'users'> {
  return {
    kind: 'session',
    name,
    uid: '',
    full_name: '',
    home: '',
    shell: '',
    admin: false,
    disabled: false,
    system: false,
    terminal,
    host,
    started_at: Number.isFinite(startedAt) ? startedAt : null,
  };
}
