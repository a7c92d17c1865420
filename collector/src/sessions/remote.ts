/**
 * Shells and file copies to an agent whose socket is on another collector node (docs/0017-nodes.md). The technician's
 * node (A) does everything it does for a local agent — access checks, the session row, the ticket, the recording,
 * the channel credit — through a `RemoteAgentLink` standing in for the agent's socket; the agent's node (B) only
 * relays, as a `RelayedChannel` owning one channel on the real socket. Between them, one `BusStream` per session
 * carries records: a channel frame, or a control message (A → B: `shell.open`/`resize`/`close`, `file.open`; B → A:
 * the agent's channel replies). Each side rewrites channel ids to its own, so neither can address another channel.
 *
 * Flow control is end to end: the agent's channel window is granted by A as the technician consumes (credit frames
 * travel in the stream like data), so at most one channel window is ever queued on B, and the BusStream's own window
 * bounds what is in flight between the nodes.
 */
import {
  type ChannelFrame,
  type CollectorMessage,
  decodeFrame,
  FileDone,
  FileOpen,
  FileOpened,
  MessageDecoder,
  OutpostError,
  rechannel,
  ShellClose,
  ShellExit,
  ShellNoEcho,
  ShellOpen,
  ShellOpened,
  ShellRefused,
  ShellResize,
} from '@outpost/shared';
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { AgentConnection, AgentLink, ChannelReply } from '../agents/index.js';
import type { BusStream } from '../cluster/index.js';

const FRAME = 0;
const MESSAGE = 1;
const RECORD_HEADER = 5;
/** A record larger than this is refused: agent frames are bounded by the agent endpoint's payload limit (1 MiB). */
const MAX_RECORD_BYTES = 4 * 1024 * 1024;

/** Control messages A may ask B to hand to the agent (all carry the channel, rewritten by B). */
const forwardDecoder = new MessageDecoder(Type.Union([ShellOpen, ShellResize, ShellClose, FileOpen]));
/** Agent replies B hands back to A. */
const replyDecoder = new MessageDecoder(
  Type.Union([ShellOpened, ShellRefused, ShellExit, ShellNoEcho, FileOpened, FileDone]),
);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One record: kind, length, payload. */
function record(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER + payload.byteLength);
  out[0] = kind;
  new DataView(out.buffer).setUint32(1, payload.byteLength);
  out.set(payload, RECORD_HEADER);
  return out;
}

const messageRecord = (msg: object): Uint8Array => record(MESSAGE, Buffer.from(JSON.stringify(msg)));

/** Reads the records of a stream, whatever its chunks' boundaries. */
async function* records(stream: BusStream): AsyncGenerator<{ kind: number; payload: Buffer }> {
  let buf = Buffer.alloc(0);
  for await (const chunk of stream) {
    buf = buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([buf, chunk]);
    while (buf.length >= RECORD_HEADER) {
      const kind = buf[0]!;
      const n = buf.readUInt32BE(1);
      if ((kind !== FRAME && kind !== MESSAGE) || n > MAX_RECORD_BYTES)
        throw new OutpostError('OUTPOST_E_BUS_STREAM', { message: `relayed session record refused (${kind}, ${n})` });
      if (buf.length < RECORD_HEADER + n) break;
      // A copy: the consumer may rewrite it in place (rechannel) and keep it.
      yield { kind, payload: Buffer.from(buf.subarray(RECORD_HEADER, RECORD_HEADER + n)) };
      buf = buf.subarray(RECORD_HEADER + n);
    }
  }
  if (buf.length > 0) throw new OutpostError('OUTPOST_E_BUS_STREAM', { message: 'relayed session ended mid-record' });
}

/** Where a link on A delivers what the agent sent (the sessions relay). */
export interface LinkRouter {
  onFrame(link: AgentLink, data: Buffer): boolean;
  onReply(link: AgentLink, msg: ChannelReply): void;
  onClose(link: AgentLink, code: OutpostError['code'], reason: string): void;
}

/** On the technician's node: the agent's socket, as seen through the node holding it. */
export class RemoteAgentLink implements AgentLink {
  #closing = false;

  constructor(
    readonly agentId: string,
    private readonly stream: BusStream,
    private readonly logger: Logger,
  ) {}

  /** Delivers what the agent's node relays until the stream ends, then ends whatever owns a channel on this link. */
  run(router: LinkRouter): void {
    void (async () => {
      let end: OutpostError | undefined;
      try {
        for await (const r of records(this.stream)) {
          if (r.kind === FRAME) router.onFrame(this, r.payload);
          else router.onReply(this, replyDecoder.decode(utf8.decode(r.payload)));
        }
      } catch (err) {
        end = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_BUS_STREAM', { cause: err });
        this.logger.warn({ agentId: this.agentId, code: end.code, reason: end.message }, 'relayed session ended');
        void this.stream.close(end);
      }
      if (end) router.onClose(this, end.code, end.message);
      else if (!this.#closing) router.onClose(this, 'OUTPOST_E_AGENT_OFFLINE', 'the agent left its node');
    })();
  }

  send(msg: CollectorMessage): void {
    this.#write(messageRecord(msg));
  }

  sendFrame(frame: Buffer): void {
    this.#write(record(FRAME, frame));
  }

  /** The session is over here: what was written still reaches the agent's node, then the stream ends. */
  close(): void {
    this.#closing = true;
    void this.stream.close();
  }

  #write(bytes: Uint8Array): void {
    // Not awaited: the channel's own credit (granted end to end) bounds what can queue here.
    this.stream.write(bytes).catch(() => undefined);
  }
}

/** What a relayed channel needs of the agent's node's relay. */
export interface ChannelSlots {
  allocate(conn: AgentConnection, peer: RelayedChannel): number;
  release(conn: AgentConnection, channel: number): void;
}

/** On the agent's node: one channel of the agent's socket, owned by a session on another node. */
export class RelayedChannel {
  /** The channel id on the agent's socket (0 until the opening message arrived). */
  channel = 0;
  /** The channel id the technician's node uses. */
  #theirs = 0;
  #agentClosed = false;

  constructor(
    private readonly conn: AgentConnection,
    private readonly stream: BusStream,
    private readonly slots: ChannelSlots,
    private readonly logger: Logger,
  ) {}

  /** Relays the technician's node's records to the agent until the stream ends; then frees the channel. */
  async run(): Promise<void> {
    let reason = 'technician node closed the session';
    try {
      for await (const r of records(this.stream)) {
        if (r.kind === MESSAGE) this.#forward(forwardDecoder.decode(utf8.decode(r.payload)));
        else if (this.channel !== 0) {
          decodeFrame(r.payload); // malformed: refused here, not by the agent
          this.conn.sendFrame(rechannel(r.payload, this.channel));
        }
      }
    } catch (err) {
      const e = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_BUS_STREAM', { cause: err });
      reason = `technician node lost: ${e.code}`;
      this.logger.warn({ agentId: this.conn.agentId, code: e.code, reason: e.message }, 'relayed channel ended');
      void this.stream.close(e);
    }
    if (this.channel !== 0) {
      // The agent kills the session's process tree; a channel it already closed ignores this.
      if (!this.#agentClosed) this.conn.send({ type: 'shell.close', channel: this.channel, reason });
      this.slots.release(this.conn, this.channel);
    }
  }

  #forward(msg: Extract<CollectorMessage, { channel: number }>): void {
    if (this.channel === 0) {
      if (msg.type !== 'shell.open' && msg.type !== 'file.open')
        throw new OutpostError('OUTPOST_E_BAD_MESSAGE', { message: `relayed session opened with ${msg.type}` });
      this.#theirs = msg.channel;
      this.channel = this.slots.allocate(this.conn, this);
    } else if (msg.type === 'shell.open' || msg.type === 'file.open')
      throw new OutpostError('OUTPOST_E_BAD_MESSAGE', { message: 'a relayed session opens once' });
    this.conn.send({ ...msg, channel: this.channel });
  }

  /** A frame from the agent on this channel. */
  fromAgent(_frame: ChannelFrame, data: Buffer): void {
    this.stream.write(record(FRAME, rechannel(data, this.#theirs))).catch(() => undefined);
  }

  /** A reply from the agent on this channel. */
  onReply(msg: ChannelReply): void {
    this.stream.write(messageRecord({ ...msg, channel: this.#theirs })).catch(() => undefined);
  }

  /** This node stops: the technician's node ends the session with the code at once, not after `deadAfterMs`. */
  end(err: OutpostError): void {
    void this.stream.close(err);
  }

  /** The agent's socket closed: the technician's node ends the session as "agent offline". */
  agentGone(): void {
    this.#agentClosed = true;
    void this.stream.close(new OutpostError('OUTPOST_E_AGENT_OFFLINE', { message: 'agent disconnected' }));
  }
}
