/** How the auth concern shows users and actors outside itself (never a secret). */
import type { Actor, RoleBinding } from './permissions.js';
import type { UserRecord } from './store.js';

/** A user as routes may show it (no secrets). */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
  roles: RoleBinding[];
  totpEnabled: boolean;
  createdAt: number;
  disabled: boolean;
}

/** A user record as routes may show it. */
export const toPublicUser = (u: UserRecord): PublicUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  roles: u.bindings,
  totpEnabled: u.totpEnabled,
  createdAt: u.createdAt,
  disabled: u.disabledAt !== null,
});

/** The audit log's view of an actor. */
export function actorRef(actor: Actor): { kind: string; id: string; name: string } {
  return actor.kind === 'user'
    ? { kind: 'user', id: actor.id, name: actor.email }
    : { kind: 'system', id: 'system', name: 'collector' };
}
