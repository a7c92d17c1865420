/**
 * The outbox concern owns the agent's durable outbox: every sequenced message waits there until the collector
 * acknowledges it. It must never talk to the network (the runtime sends what it returns).
 */
export { Outbox, type OutboxOptions, type OutboxStats } from './outbox.js';
