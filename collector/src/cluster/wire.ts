/**
 * What travels between collector nodes, defined once: the subjects (namespaced per deployment, so two deployments on
 * one NATS never see each other) and a TypeBox schema for every JSON message. Whatever a node reads from the bus is
 * checked here first; a message that does not match is a logged OUTPOST_E_BAD_MESSAGE refusal, never a crash.
 */
import { CollectorMessage, MessageDecoder, OutpostError } from '@outpost/shared';
import { type Static, Type } from '@sinclair/typebox';

/** A subject token: NATS splits on dots and gives `*`, `>` and spaces meanings, so ids are checked before use. */
export const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** The subject token or OUTPOST_E_BAD_REQUEST naming what was wrong (an agent id reaching the bus is user input). */
export function token(what: string, value: string): string {
  if (!TOKEN.test(value))
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: `${what} cannot be used on the node bus: ${JSON.stringify(value.slice(0, 80))}`,
      details: { what },
    });
  return value;
}

/** Every subject a deployment uses, under `outpost.<deployment>.`. */
export function subjects(deployment: string) {
  const p = `outpost.${token('deployment', deployment)}`;
  return {
    /** Commands for one agent, answered by the node holding its socket (request/reply). */
    agent: (agentId: string) => `${p}.agent.${token('agent id', agentId)}.cmd`,
    /** Node heartbeats (with the count of agents held, so a gap in presence is visible). */
    heartbeat: `${p}.presence.hb`,
    /** One agent came online on, or left, a node. */
    presence: `${p}.presence.agent`,
    /** A node asks every other to announce what it holds (it just started, or it lost the bus for a while). */
    presenceSync: `${p}.presence.sync`,
    /** Cache invalidations, one subject per kind. */
    invalidate: (kind: InvalidationKind) => `${p}.inval.${kind}`,
    /**
     * The console's live changes of one client, for every node's browsers (a client id that is not a subject token
     * goes on `live._`: the event names its client either way). `liveAll` subscribes to every client's.
     */
    live: (clientId: string) => `${p}.live.${TOKEN.test(clientId) ? clientId : '_'}`,
    liveAll: `${p}.live.*`,
    /** Frames of one relayed byte stream, to the side named `to`. */
    stream: (streamId: string, to: StreamSide) => `${p}.stream.${token('stream id', streamId)}.${to}`,
  };
}
export type Subjects = ReturnType<typeof subjects>;

/** The two ends of a relayed stream: `a` opened it (the technician's node), `b` accepted it (the agent's node). */
export type StreamSide = 'a' | 'b';

const Id = Type.String({ pattern: TOKEN.source });
const Text = (maxLength: number) => Type.String({ maxLength });
const Time = Type.Integer({ minimum: 0 });

/** What a node may ask the node holding an agent. */
export const BusCommand = Type.Union([
  /** Is it there, and since when (answers with the holding node). */
  Type.Object({ type: Type.Literal('agent.where') }, { additionalProperties: false }),
  /**
   * Hand one control message to the agent's socket. It is checked against the agent protocol (CollectorMessage) as
   * the command is decoded: the bus vouches for the node, not for what a bug in it may have built.
   */
  Type.Object({ type: Type.Literal('agent.send'), message: CollectorMessage }, { additionalProperties: false }),
  /** Open a relayed stream (a shell, a file transfer) to the agent: the holder accepts it as side `b`. */
  Type.Object(
    {
      type: Type.Literal('stream.open'),
      streamId: Id,
      kind: Type.Union([Type.Literal('shell'), Type.Literal('file')]),
      params: Type.Record(Type.String(), Type.Unknown()),
    },
    { additionalProperties: false },
  ),
]);
export type BusCommand = Static<typeof BusCommand>;

/** A command on the wire: who asks, and what. */
export const CommandEnvelope = Type.Object(
  { from: Id, agentId: Id, command: BusCommand },
  { additionalProperties: false },
);
export type CommandEnvelope = Static<typeof CommandEnvelope>;

/** The holder's answer: a result, or a catalogue code (an unknown code reads as OUTPOST_E_INTERNAL). */
export const CommandReply = Type.Union([
  Type.Object(
    { ok: Type.Literal(true), node: Id, result: Type.Record(Type.String(), Type.Unknown()) },
    { additionalProperties: false },
  ),
  Type.Object(
    { ok: Type.Literal(false), node: Id, code: Text(64), message: Text(1024) },
    { additionalProperties: false },
  ),
]);
export type CommandReply = Static<typeof CommandReply>;

/** A node is alive and holds this many agents. */
export const Heartbeat = Type.Object(
  { node: Id, agents: Type.Integer({ minimum: 0 }), at: Time },
  { additionalProperties: false },
);
export type Heartbeat = Static<typeof Heartbeat>;

/** Agents that came online on (or left) a node; a batch, so a resync of 15,000 agents is 15 messages. */
export const PresenceChange = Type.Object(
  {
    node: Id,
    online: Type.Boolean(),
    agentIds: Type.Array(Id, { maxItems: 1000 }),
    at: Time,
    /** A repeat for a node that just joined, not a new connection: it displaces no other holder. */
    resync: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type PresenceChange = Static<typeof PresenceChange>;

/** A node asks the others to announce their agents again. */
export const PresenceSync = Type.Object({ node: Id }, { additionalProperties: false });

/** What can be invalidated across nodes. */
export const InvalidationKind = Type.Union([
  Type.Literal('revocation'),
  Type.Literal('policy'),
  Type.Literal('permission'),
]);
export type InvalidationKind = Static<typeof InvalidationKind>;

/** Drop the cached entry `key` of this kind (`*` drops every entry of the kind). */
export const Invalidation = Type.Object(
  { origin: Id, kind: InvalidationKind, key: Text(256) },
  { additionalProperties: false },
);
export type Invalidation = Static<typeof Invalidation>;

/** A change the console's live stream pushes (the live concern's `LiveEvent`), as one node tells the others. */
export const LiveChange = Type.Object(
  {
    origin: Id,
    event: Type.Union([
      Type.Object(
        {
          type: Type.Literal('agent.presence'),
          agentId: Text(128),
          clientId: Text(128),
          status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
          at: Time,
        },
        { additionalProperties: false },
      ),
      Type.Object(
        {
          type: Type.Literal('incident.changed'),
          incidentId: Text(128),
          clientId: Text(128),
          status: Text(64),
          at: Time,
        },
        { additionalProperties: false },
      ),
    ]),
  },
  { additionalProperties: false },
);
export type LiveChange = Static<typeof LiveChange>;
export type LiveChangeEvent = LiveChange['event'];

/** Control frames of a relayed stream (data frames are binary, stream.ts). */
export const StreamControl = Type.Union([
  /** The acceptor is subscribed: the opener may send, up to `credit` bytes. */
  Type.Object({ t: Type.Literal('open'), credit: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
  /** The receiver drained `credit` more bytes: the sender may send that much more. */
  Type.Object({ t: Type.Literal('credit'), credit: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
  /** Still here (sent when nothing else was for a keep-alive period). */
  Type.Object({ t: Type.Literal('ping') }, { additionalProperties: false }),
  /** The stream ends; `code` says why when it is not a normal end. */
  Type.Object(
    { t: Type.Literal('end'), code: Type.Optional(Text(64)), reason: Type.Optional(Text(1024)), seq: Time },
    { additionalProperties: false },
  ),
]);
export type StreamControl = Static<typeof StreamControl>;

export const decoders = {
  envelope: new MessageDecoder(CommandEnvelope),
  reply: new MessageDecoder(CommandReply),
  heartbeat: new MessageDecoder(Heartbeat),
  presence: new MessageDecoder(PresenceChange),
  presenceSync: new MessageDecoder(PresenceSync),
  invalidation: new MessageDecoder(Invalidation),
  live: new MessageDecoder(LiveChange),
  streamControl: new MessageDecoder(StreamControl),
};

const text = new TextDecoder('utf-8', { fatal: true });
const enc = new TextEncoder();

/** JSON bytes for the wire. */
export const encode = (value: unknown): Uint8Array => enc.encode(JSON.stringify(value));

/** Decodes bytes read from the bus with a decoder; OUTPOST_E_BAD_MESSAGE when not UTF-8, not JSON or off-schema. */
export function decode<T>(decoder: { decode(text: string): T }, data: Uint8Array): T {
  let s: string;
  try {
    s = text.decode(data);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_BAD_MESSAGE', { cause, message: 'Bus message is not UTF-8' });
  }
  return decoder.decode(s);
}
