/** The presence family: heartbeats (not sequenced: only the latest matters). */
import { type Static, Type } from '@sinclair/typebox';
import { EpochMs, message } from './common.js';

/** Periodic proof of life with the few figures that change between heartbeats. */
export const AgentHeartbeat = message('agent.heartbeat', {
  time: EpochMs,
  uptimeSec: Type.Integer({ minimum: 0 }),
  /** Messages waiting in the agent's outbox, so the console can show a backlog. */
  outboxPending: Type.Integer({ minimum: 0 }),
});
export type AgentHeartbeat = Static<typeof AgentHeartbeat>;
