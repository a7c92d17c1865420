/** The presence family: heartbeats (not sequenced: only the latest matters). */
import type { Static } from '@sinclair/typebox';
import { Count, EpochMs, message } from './common.js';

/** Periodic proof of life with the few figures that change between heartbeats. */
export const AgentHeartbeat = message('agent.heartbeat', {
  time: EpochMs,
  uptimeSec: Count,
  /** Messages waiting in the agent's outbox, so the console can show a backlog. */
  outboxPending: Count,
});
export type AgentHeartbeat = Static<typeof AgentHeartbeat>;
