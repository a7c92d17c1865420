/**
 * The cluster concern owns the bus between collector nodes: commands routed to the node holding an agent's socket,
 * byte streams relayed with credit-based flow control, presence across nodes and cache invalidation broadcasts
 * (docs/0017-nodes.md). A single `outpost serve` runs it in process (`LocalTransport`); several nodes run it over
 * NATS. It must never carry the source of truth (the database is), never trust what it reads from the bus before
 * its schema checked it, and never open its own connection to an agent.
 */

export { bridgeAgents, type StreamAcceptor, sendToAgent } from './agents-bridge.js';
export {
  type BusInit,
  type BusOptions,
  type CommandHandler,
  DEFAULT_BUS_OPTIONS,
  type Holding,
  NodeBus,
} from './bus.js';
export { InvalidatedCache, type InvalidationSource } from './invalidation.js';
export { type NatsTransportOptions, natsTransport } from './nats-transport.js';
export { defaultNodeId, type NodeBusHandle, openNodeBus } from './node.js';
export { PresenceView } from './presence.js';
export { AgentReach } from './reach.js';
export { BusStream, DEFAULT_STREAM_OPTIONS, type StreamOptions } from './stream.js';
export { type BusTransport, LocalTransport, type TransportHandler } from './transport.js';
export { type BusCommand, type InvalidationKind, type LiveChangeEvent, subjects } from './wire.js';
