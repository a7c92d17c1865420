/**
 * How once-only work writes under its lease (docs/0017-nodes.md, "Fencing"): each write in a transaction that first
 * checks, in the database, that the hold's epoch still holds the lease; each effect (a send) after `valid()`.
 */
import type { LeaseHold } from './leased-work.js';

/** What a tick needs of its hold. */
export type Fence = Pick<LeaseHold, 'valid' | 'fenced'>;

/**
 * `fn` fenced by `lease` (false, and nothing written, when the lease was lost); without a lease (tests driving a
 * tick, a caller outside leased work) `fn` as it is.
 */
export function fencedBy(lease: Fence | undefined, fn: () => Promise<void>): Promise<boolean> {
  return lease ? lease.fenced(fn) : fn().then(() => true);
}
