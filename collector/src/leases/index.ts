/**
 * The leases concern owns the `leases` table: which node runs each piece of once-only work, under which fencing epoch,
 * until when by the database's clock (docs/0017-nodes.md, "Leases"). Concerns never read the table; they are wrapped
 * in a `LeasedWork` by the composition root.
 */
export { type Fence, fencedBy } from './fence.js';
export {
  defaultNodeId,
  holdOf,
  LEASE_TTL_MS,
  type LeasedComponent,
  LeasedWork,
  type LeasedWorkInit,
  type LeaseHold,
  type LeaseTiming,
  leaseTiming,
  SINGLE_NODE_LEASE_TTL_MS,
} from './leased-work.js';
export { type LeaseGrant, type LeaseRow, LeaseStore, leasesMigrations } from './store.js';
