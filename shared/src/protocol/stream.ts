/**
 * The reliable stream family. Agent → collector data messages carry a per-agent sequence number; the agent keeps
 * them in its durable outbox until the collector acknowledges them after committing (docs/0001-protocol.md).
 */
import { type Static, Type } from '@sinclair/typebox';
import { Count, EpochMs, message, Seq, Str } from './common.js';

/** A scalar value an event may carry. */
const EventValue = Type.Union([Str(4096), Type.Number(), Type.Boolean(), Type.Null()]);

/** Something that happened on the agent (agent started, test event, later: service changed…). */
export const StreamEvent = message('stream.event', {
  seq: Seq,
  time: EpochMs,
  kind: Type.String({ pattern: '^[a-z][a-z0-9_.]{0,63}$' }),
  data: Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' }), EventValue, { maxProperties: 64 }),
});
export type StreamEvent = Static<typeof StreamEvent>;

/** The outbox overflowed and dropped `count` messages starting at `seq`; the stream continues after them. */
export const StreamGap = message('stream.gap', {
  seq: Seq,
  count: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  reason: Type.Union([Type.Literal('outbox_full'), Type.Literal('outbox_corrupt')]),
});
export type StreamGap = Static<typeof StreamGap>;

/** The collector committed every sequence number up to and including `seq`. */
export const StreamAck = message('stream.ack', { seq: Count });
export type StreamAck = Static<typeof StreamAck>;

/** The last sequence number a sequenced message covers (a gap covers `count` numbers). */
export function lastSeqOf(msg: { type: string; seq: number; count?: unknown }): number {
  return msg.type === 'stream.gap' && typeof msg.count === 'number' ? msg.seq + msg.count - 1 : msg.seq;
}
