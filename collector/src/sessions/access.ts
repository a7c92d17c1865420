/** Which permission each kind of session needs: to open it, and the same to see, join or replay it. */
import type { Action } from '../auth/index.js';
import type { SessionKindKey, SessionRecord } from './store.js';

/** The permission each kind of session needed to open; watching, listing or replaying it needs the same. */
export const KIND_ACTIONS: Record<SessionKindKey, Action> = {
  shell: 'shell',
  elevated: 'shell.elevated',
  download: 'file.read',
  upload: 'file.write',
};

/**
 * The permission a session needed when it was opened, which seeing it (its row, a live join, its recording) needs
 * too: a tier-1 technician must not watch an administrator's root shell or read what was typed in it.
 */
export function sessionAction(r: Pick<SessionRecord, 'kind' | 'elevated'>): Action {
  return KIND_ACTIONS[r.kind === 'shell' ? (r.elevated ? 'elevated' : 'shell') : r.kind];
}
