/**
 * This collector node's place on the bus, from the `cluster` configuration: absent, the in-process transport (one
 * node; nothing leaves the process, `outpost serve` behaves as it always did); present, a NATS connection. The
 * composition root owns what this returns and closes it on shutdown (docs/0017-nodes.md).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock, CollectorSettings } from '../config.js';
import { type BusOptions, NodeBus } from './bus.js';
import { natsTransport } from './nats-transport.js';
import { type BusTransport, LocalTransport } from './transport.js';

/** The bus of this node and what it runs on. */
export interface NodeBusHandle {
  bus: NodeBus;
  transport: BusTransport;
  /** True when other nodes may exist (NATS configured). */
  clustered: boolean;
  /** Subscribes and starts the heartbeat (errors are logged: the node keeps serving its own agents). */
  start(): void;
  /** Tells the others this node's agents are gone, then closes the transport (drains NATS). */
  stop(): Promise<void>;
}

/** `<hostname>-<pid>` reduced to what a subject token allows. */
export function defaultNodeId(): string {
  return `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(-64);
}

/** Connects (NATS) or builds (in process) the bus; OUTPOST_E_BUS_UNAVAILABLE when NATS does not answer. */
export async function openNodeBus(
  config: Pick<CollectorSettings, 'cluster'> & { clock: Clock; logger: Logger },
  options?: Partial<BusOptions>,
): Promise<NodeBusHandle> {
  const { cluster, clock, logger } = config;
  const nodeId = cluster?.nodeId ?? defaultNodeId();
  const log = logger.child({ concern: 'cluster', node: nodeId });
  const transport = cluster
    ? await natsTransport({ servers: [cluster.natsUrl], name: nodeId, logger: log })
    : new LocalTransport();
  const bus = new NodeBus({
    transport,
    deployment: cluster?.deployment ?? 'local',
    nodeId,
    clock,
    logger: log,
    ...(options ? { options } : {}),
  });
  let started: Promise<void> | undefined;
  return {
    bus,
    transport,
    clustered: cluster !== undefined,
    start() {
      // One node: nobody to hear heartbeats or presence, so no timer runs (the local registry answers "online").
      if (!cluster) return;
      started = bus.start().catch((err: unknown) => log.error({ err }, 'node bus did not start'));
    },
    async stop() {
      await started;
      await bus.stop().catch((err: unknown) => log.warn({ err }, 'node bus stop failed'));
      await transport.close();
    },
  };
}
