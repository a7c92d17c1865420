/**
 * The long-running parts of a wired core (docs/0013-composition-root.md), and the leases the once-only ones run under
 * (docs/0017-nodes.md, "Leases"). Split from core.ts, which builds the concerns; this says in which order they start
 * and stop, and which of them one node of a cluster runs alone.
 */
import type { NodeBusHandle } from './cluster/index.js';
import type { CoreInput, Live, Spine, Watch, Work } from './core.js';
import {
  defaultNodeId,
  LEASE_TTL_MS,
  type LeasedComponent,
  LeasedWork,
  LeaseStore,
  leaseTiming,
  SINGLE_NODE_LEASE_TTL_MS,
} from './leases/index.js';
import type { Component } from './lifecycle.js';
import type { LiveHub } from './live/index.js';
import { HOUSEKEEPING_INTERVAL_MS } from './metrics/index.js';
import type { EmailReceiver, EmailReplies } from './requests/index.js';
import type { Rollouts } from './rollouts/index.js';

/** A comment line on every live stream this often, so proxies and browsers keep an idle one open. */
const LIVE_KEEPALIVE_MS = 15_000;

/** The long-running parts of a wired core, in start order (stopped in reverse by the lifecycle). */
export function componentsOf(
  input: CoreInput,
  c: Spine &
    Work &
    Watch &
    Live & {
      hub: LiveHub;
      rollouts: Rollouts;
      email: EmailReceiver | undefined;
      replies: EmailReplies | undefined;
    },
): Component[] {
  const { sessions, gateway, ingest, presence, metricsService, sweeps, checkpoint } = c;
  const { incidents, notifications, jobs, rollouts, hub, email, replies } = c;
  const once = leasedBy(input, c.node);
  let keepAlive: NodeJS.Timeout | undefined;
  // Stop order: nothing new comes in (sessions, sockets), what arrived is committed, then the timers, then the
  // detection checkpoint last so it holds every sample committed before the stop.
  return [
    ...(email
      ? [{ name: 'email', start: () => email.start(), stop: () => email.stop().finally(() => replies?.close()) }]
      : []),
    { name: 'sessions', start: () => sessions.start(), stop: () => sessions.stop() },
    {
      name: 'live stream',
      start: () => {
        keepAlive = setInterval(() => hub.keepAlive(), LIVE_KEEPALIVE_MS).unref();
      },
      stop: () => {
        clearInterval(keepAlive);
        hub.close();
      },
    },
    { name: 'gateway', stop: () => gateway.stop() },
    { name: 'node bus', start: () => c.node.start(), stop: () => c.node.stop() },
    { name: 'stream', stop: () => ingest.idle() },
    { name: 'presence', start: () => presence.start(), stop: () => presence.stop() },
    // Fleet-wide sweeps (absence, inventory rules) judge every machine from the database: one node runs them.
    once(sweeps),
    {
      name: 'metrics',
      start: () => metricsService.start(HOUSEKEEPING_INTERVAL_MS, checkpoint),
      stop: () => metricsService.stop(),
    },
    once({
      name: 'incidents',
      start: (lease) => incidents.start(input.config.incidents.tickMs, undefined, lease),
      stop: () => incidents.stop(),
    }),
    once({ name: 'notifications', start: (lease) => notifications.start(lease), stop: () => notifications.stop() }),
    once({ name: 'jobs', start: (lease) => jobs.start(lease), stop: () => jobs.stop() }),
    once({ name: 'rollouts', start: (lease) => rollouts.start(lease), stop: () => rollouts.stop() }),
    {
      name: 'detection checkpoint',
      stop: () => {
        c.detection.checkpoints?.stop();
        return checkpoint();
      },
    },
  ];
}

/**
 * Wraps once-only work (docs/0017-nodes.md, "Leases") so it runs only on the node holding its lease, named after the
 * component. A single `outpost serve` on SQLite takes every lease on its first attempt, so its timers start as before.
 */
function leasedBy(input: CoreInput, node: NodeBusHandle): (work: LeasedComponent) => LeasedWork {
  const { sql } = input;
  const store = new LeaseStore(sql);
  // Nodes of a cluster hold leases under their bus identity, even on one shared SQLite file (docs/0017-nodes.md).
  const nodeId = input.nodeId ?? (node.clustered ? node.bus.nodeId : defaultNodeId(sql.dialect));
  const logger = input.config.logger.child({ concern: 'leases' });
  const timing = input.leaseTiming ?? leaseTiming(sql.dialect === 'sqlite' ? SINGLE_NODE_LEASE_TTL_MS : LEASE_TTL_MS);
  return (work) => new LeasedWork({ name: work.name, work, store, nodeId, logger, timing });
}
