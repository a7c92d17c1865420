/**
 * Users' requests from the workstation (docs/0014-requests.md). The agent stamps a request with the OS user it proved
 * on its local channel (never the caller's claim), the time and a snapshot, and sends it through the reliable stream
 * (exactly once, even across a collector restart). The collector answers with the ticket; an agent asks for the
 * status of a request it filed. Every string is hostile: bounded here, rendered as text wherever it is shown.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Count, EpochMs, message, Seq, Str, strict } from './common.js';
import { TopProcess } from './metrics.js';

/** The agent's own reference of a request (so a resent one is one ticket, and the user can ask before it has one). */
export const RequestRef = Type.String({ pattern: '^r_[A-Za-z0-9_-]{8,40}$' });
/** A ticket number as the collector gives it. */
const TicketId = Type.String({ pattern: '^in_[0-9a-f]{1,32}$' });
/** The longest request text a user may send. */
export const MAX_REQUEST_TEXT = 10_000;

/** What the machine looked like when the user asked: the probes that matter for a helpdesk. */
export const RequestSnapshot = Type.Object(
  {
    disks: Type.Array(Type.Object({ mount: Str(512, 1), totalBytes: Count, freeBytes: Count }, strict), {
      maxItems: 64,
    }),
    memory: Type.Object({ totalBytes: Count, freeBytes: Count }, strict),
    load: Type.Optional(Type.Array(Type.Number({ minimum: 0, maximum: 1e6 }), { maxItems: 3 })),
    uptimeSec: Type.Optional(Count),
    /** The metrics sampler's top processes (by CPU and by memory) over the second before the request. */
    topProcesses: Type.Array(TopProcess, { maxItems: 20 }),
  },
  strict,
);
export type RequestSnapshot = Static<typeof RequestSnapshot>;

/** Agent → collector (reliable stream): a user on this machine asks for help. */
export const RequestFile = message('request.file', {
  seq: Seq,
  time: EpochMs,
  ref: RequestRef,
  text: Str(MAX_REQUEST_TEXT, 1),
  /** The OS user the agent proved on its local channel. */
  user: Type.Object({ name: Str(256, 1), uid: Type.Optional(Count) }, strict),
  snapshot: RequestSnapshot,
});
export type RequestFile = Static<typeof RequestFile>;

/** Agent → collector: what is the status of the request filed as `ref`? Answered by `request.state` with `id`. */
export const RequestQuery = message('request.query', {
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  ref: RequestRef,
});
export type RequestQuery = Static<typeof RequestQuery>;

/** Collector → agent: the ticket a request opened (sent when it is filed, and as the answer to a query). */
export const RequestState = message('request.state', {
  /** The query answered (absent when pushed after filing). */
  id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
  ref: RequestRef,
  /** Null: the collector has no request under this reference (not arrived yet, or refused). */
  ticket: Type.Union([
    Type.Object(
      {
        id: TicketId,
        status: Type.Union(['open', 'acknowledged', 'resolved', 'closed'].map((s) => Type.Literal(s))),
        title: Str(300),
        updatedAt: EpochMs,
      },
      strict,
    ),
    Type.Null(),
  ]),
});
export type RequestState = Static<typeof RequestState>;
