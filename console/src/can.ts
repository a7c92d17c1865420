/**
 * What the logged-in user's roles allow, to show only the actions they may use. A hint for the pages only: the
 * collector authorises every call (auth/permissions.ts), and a refusal still shows as a coded error.
 */
import type { User } from './api/types.js';

const RANK: Record<string, number> = { viewer: 0, tier1: 1, tier2: 2, tier3: 3, admin: 4 };

/** True when some binding holds at least `role` (on any client, or on `clientId` when given). */
export function holds(user: User | null | undefined, role: keyof typeof RANK, clientId?: string): boolean {
  return (user?.roles ?? []).some(
    (b) =>
      (RANK[b.role] ?? -1) >= (RANK[role] ?? 99) &&
      (clientId === undefined || b.clientId === null || b.clientId === clientId),
  );
}

/** An admin of every client: users, new clients and global channels are theirs. */
export function isGlobalAdmin(user: User | null | undefined): boolean {
  return (user?.roles ?? []).some((b) => b.role === 'admin' && b.clientId === null);
}
