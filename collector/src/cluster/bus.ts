/**
 * The node bus: what collector nodes tell each other. A command for an agent goes to the agent's own subject, to
 * which only the node holding the agent's socket subscribes (request/reply; "no responders" = offline everywhere,
 * answered at once); byte streams relay with credits (stream.ts); presence and invalidations are broadcasts. The same
 * code runs over the in-process transport (one `outpost serve`) and over NATS (several nodes). docs/0017-nodes.md.
 */
import { randomBytes } from 'node:crypto';
import { isErrorCode, OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import { PresenceView } from './presence.js';
import { BusStream, DEFAULT_STREAM_OPTIONS, type StreamOptions } from './stream.js';
import type { BusTransport } from './transport.js';
import {
  type BusCommand,
  type CommandReply,
  decode,
  decoders,
  encode,
  type InvalidationKind,
  type LiveChangeEvent,
  type PresenceChange,
  type Subjects,
  subjects,
  token,
} from './wire.js';

/** Timing of the bus. */
export interface BusOptions {
  /** How long a command waits for the holding node's answer. */
  requestTimeoutMs: number;
  /** How often a node says it is alive. */
  heartbeatMs: number;
  /** A node silent for this long is gone, with its agents. */
  nodeTtlMs: number;
  stream: StreamOptions;
}

export const DEFAULT_BUS_OPTIONS: BusOptions = {
  requestTimeoutMs: 5000,
  heartbeatMs: 1000,
  nodeTtlMs: 3500,
  stream: DEFAULT_STREAM_OPTIONS,
};

/** What a bus is built from (one checked object, clock and logger injected). */
export interface BusInit {
  transport: BusTransport;
  /** Namespaces every subject: deployments sharing one NATS never see each other. */
  deployment: string;
  /** This node's id, unique in the deployment. */
  nodeId: string;
  clock: Clock;
  logger: Logger;
  options?: Partial<BusOptions>;
}

/** Answers commands for one held agent; throws an OutpostError to refuse. */
export type CommandHandler = (command: BusCommand, from: string) => Promise<Record<string, unknown>>;

/** What this node does for one agent it holds. */
export interface Holding {
  handler: CommandHandler;
  /** The agent came online on another node (it moved): close its old socket here. */
  onMoved?: (toNode: string) => void;
}

/** The bus between collector nodes. */
export class NodeBus {
  readonly nodeId: string;
  readonly presence: PresenceView;
  readonly counters = { commandsIn: 0, commandsOut: 0, refused: 0, streamsOpened: 0 };
  readonly #init: BusInit;
  readonly #opts: BusOptions;
  readonly #subjects: Subjects;
  readonly #held = new Map<string, { holding: Holding; unsubscribe: () => void }>();
  readonly #invalidationFns = new Map<InvalidationKind, Set<(key: string, origin: string) => void>>();
  readonly #liveFns = new Set<(event: LiveChangeEvent, origin: string) => void>();
  readonly #unsubscribe: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Resolves once this node has listened to presence for a node TTL (see `liveNodes`). */
  readonly #settled: Promise<void>;
  #settle: () => void = () => undefined;
  #settleTimer: NodeJS.Timeout | undefined;

  constructor(init: BusInit) {
    this.#init = init;
    this.nodeId = token('node id', init.nodeId);
    this.#opts = { ...DEFAULT_BUS_OPTIONS, ...init.options };
    this.#subjects = subjects(init.deployment);
    this.presence = new PresenceView(this.#opts.nodeTtlMs);
    this.#settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  /** Listens to presence and invalidations, asks the other nodes for their agents, starts the heartbeat. */
  async start(): Promise<void> {
    const { transport } = this.#init;
    const s = this.#subjects;
    this.#unsubscribe.push(
      transport.subscribe(s.heartbeat, (d) =>
        this.#read('heartbeat', decoders.heartbeat, d, (m) => this.#onHeartbeat(m)),
      ),
      transport.subscribe(s.presence, (d) => this.#read('presence', decoders.presence, d, (m) => this.#onPresence(m))),
      transport.subscribe(s.presenceSync, (d) =>
        this.#read('presenceSync', decoders.presenceSync, d, (m) => this.#onSync(m.node)),
      ),
    );
    for (const kind of ['revocation', 'policy', 'permission'] as const)
      this.#unsubscribe.push(
        transport.subscribe(s.invalidate(kind), (d) =>
          this.#read('invalidation', decoders.invalidation, d, (m) => this.#onInvalidate(m)),
        ),
      );
    this.#unsubscribe.push(
      transport.subscribe(s.liveAll, (d) =>
        this.#read('live', decoders.live, d, (m) => {
          if (m.origin !== this.nodeId) for (const fn of this.#liveFns) fn(m.event, m.origin);
        }),
      ),
    );
    await transport.flush();
    transport.publish(s.presenceSync, encode({ node: this.nodeId }));
    this.#beat();
    this.#timer = setInterval(() => this.#beat(), this.#opts.heartbeatMs);
    this.#settleTimer = setTimeout(() => this.#settle(), this.#opts.nodeTtlMs);
  }

  /**
   * The nodes alive in this deployment (this one included), once this node has listened to presence for a node TTL
   * since it started: every live node has beaten several times by then, so a node missing from the set is gone.
   * Rejects with OUTPOST_E_UNAVAILABLE when `signal` aborts first (the bus never started, or the node is stopping).
   */
  async liveNodes(signal?: AbortSignal): Promise<Set<string>> {
    await new Promise<void>((resolve, reject) => {
      const abort = () => reject(new OutpostError('OUTPOST_E_UNAVAILABLE', { message: 'node bus stopping' }));
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      void this.#settled.then(() => {
        signal?.removeEventListener('abort', abort);
        resolve();
      });
    });
    this.presence.expire(this.#init.clock.now());
    return new Set([this.nodeId, ...this.presence.nodes().map((n) => n.node)]);
  }

  /** Tells the others this node's agents are gone, stops listening; the transport is the caller's to close. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#settleTimer);
    const agents = [...this.#held.keys()];
    for (const { unsubscribe } of this.#held.values()) unsubscribe();
    this.#held.clear();
    this.#announce(false, agents);
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.#init.transport.flush();
  }

  /** This node holds the agent's socket from now on: its commands come here. */
  hold(agentId: string, holding: Holding): void {
    token('agent id', agentId);
    this.#held.get(agentId)?.unsubscribe();
    const unsubscribe = this.#init.transport.subscribe(this.#subjects.agent(agentId), (data, reply) => {
      if (reply) void this.#answer(agentId, data, reply);
    });
    this.#held.set(agentId, { holding, unsubscribe });
    this.#announce(true, [agentId]);
  }

  /** The agent's socket closed here. */
  release(agentId: string): void {
    const h = this.#held.get(agentId);
    if (!h) return;
    h.unsubscribe();
    this.#held.delete(agentId);
    this.#announce(false, [agentId]);
  }

  /** Agents held here. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Asks the node holding the agent; resolves with its result. OUTPOST_E_AGENT_OFFLINE at once when no node holds
   * it, OUTPOST_E_BUS_TIMEOUT when the holder does not answer, the holder's own code when it refuses.
   */
  async request(agentId: string, command: BusCommand, timeoutMs = this.#opts.requestTimeoutMs) {
    this.counters.commandsOut++;
    const body = encode({ from: this.nodeId, agentId, command });
    const data = await this.#init.transport.request(this.#subjects.agent(agentId), body, timeoutMs);
    const reply = decode(decoders.reply, data);
    if (reply.ok) return { node: reply.node, result: reply.result };
    const code = isErrorCode(reply.code) ? reply.code : 'OUTPOST_E_INTERNAL';
    throw new OutpostError(code, { message: reply.message, details: { node: reply.node } });
  }

  /**
   * Opens a relayed stream to the node holding the agent (this side is `a`). The holder's handler accepts it with
   * `acceptStream`; a refusal or "offline" closes the local side and is thrown.
   */
  async openStream(agentId: string, kind: 'shell' | 'file', params: Record<string, unknown> = {}): Promise<BusStream> {
    const streamId = randomBytes(12).toString('base64url');
    const stream = this.#stream(streamId, 'a');
    await stream.start();
    await this.#init.transport.flush();
    try {
      await this.request(agentId, { type: 'stream.open', streamId, kind, params });
    } catch (err) {
      await stream.close(err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err }));
      throw err;
    }
    this.counters.streamsOpened++;
    return stream;
  }

  /** The agent's side of a stream another node opened (call it from the `stream.open` command's handler). */
  async acceptStream(streamId: string): Promise<BusStream> {
    const stream = this.#stream(streamId, 'b');
    await stream.start();
    return stream;
  }

  #stream(streamId: string, side: 'a' | 'b'): BusStream {
    const { transport, clock, logger } = this.#init;
    return new BusStream({
      transport,
      subjects: this.#subjects,
      streamId,
      side,
      clock,
      logger,
      options: this.#opts.stream,
    });
  }

  /** Tells every node (this one too) to drop its cached entry. */
  invalidate(kind: InvalidationKind, key: string): void {
    this.#init.transport.publish(this.#subjects.invalidate(kind), encode({ origin: this.nodeId, kind, key }));
  }

  /** Calls `fn` with the key (and the node it came from) of every invalidation of this kind, from any node. */
  onInvalidation(kind: InvalidationKind, fn: (key: string, origin: string) => void): () => void {
    let set = this.#invalidationFns.get(kind);
    if (!set) {
      set = new Set();
      this.#invalidationFns.set(kind, set);
    }
    set.add(fn);
    return () => this.#invalidationFns.get(kind)?.delete(fn);
  }

  /** Tells the other nodes' browsers of a change seen here (the console's live stream), on its client's subject. */
  publishLive(event: LiveChangeEvent): void {
    this.#init.transport.publish(this.#subjects.live(event.clientId), encode({ origin: this.nodeId, event }));
  }

  /** Calls `fn` with every live change another node published (this node's own are not repeated to it). */
  onLive(fn: (event: LiveChangeEvent, origin: string) => void): () => void {
    this.#liveFns.add(fn);
    return () => this.#liveFns.delete(fn);
  }

  /** Runs one command for a held agent and answers; a malformed one is refused with a code, logged, never thrown. */
  async #answer(agentId: string, data: Uint8Array, reply: (d: Uint8Array) => void): Promise<void> {
    const answer = (r: CommandReply) => reply(encode(r));
    try {
      const env = decode(decoders.envelope, data);
      if (env.agentId !== agentId) throw new OutpostError('OUTPOST_E_BAD_MESSAGE', { message: 'agent id mismatch' });
      const h = this.#held.get(agentId);
      if (!h) throw new OutpostError('OUTPOST_E_AGENT_OFFLINE');
      this.counters.commandsIn++;
      const result = await h.holding.handler(env.command, env.from);
      answer({ ok: true, node: this.nodeId, result });
    } catch (err) {
      this.counters.refused++;
      const e = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
      this.#init.logger.warn({ bus: 'command', agentId, code: e.code, reason: e.message }, 'bus command refused');
      answer({ ok: false, node: this.nodeId, code: e.code, message: e.message.slice(0, 1024) });
    }
  }

  /** Decodes one broadcast and hands it on; a malformed one is logged with its code and dropped. */
  #read<T>(kind: string, decoder: { decode(text: string): T }, data: Uint8Array, fn: (msg: T) => void): void {
    try {
      fn(decode(decoder, data));
    } catch (err) {
      const e = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
      this.#init.logger.warn({ bus: kind, code: e.code, reason: e.message }, 'bus message refused');
    }
  }

  #onHeartbeat(hb: { node: string; agents: number; at: number }): void {
    this.presence.heartbeat(hb, this.#init.clock.now());
  }

  #onPresence(c: PresenceChange): void {
    this.presence.change(c, this.#init.clock.now());
    // Another node took an agent this node still subscribes for (it reconnected there): the socket here is stale.
    // A resync (a node repeating what it holds to a newcomer) displaces nobody: it says nothing about who came last.
    if (!c.online || c.resync || c.node === this.nodeId) return;
    for (const agentId of c.agentIds) {
      const h = this.#held.get(agentId);
      if (!h) continue;
      this.release(agentId);
      h.holding.onMoved?.(c.node);
    }
  }

  #onSync(from: string): void {
    if (from !== this.nodeId) this.#announce(true, [...this.#held.keys()], true);
  }

  #onInvalidate(m: { origin: string; kind: InvalidationKind; key: string }): void {
    for (const fn of this.#invalidationFns.get(m.kind) ?? []) fn(m.key, m.origin);
  }

  #beat(): void {
    const now = this.#init.clock.now();
    this.presence.expire(now);
    this.#init.transport.publish(this.#subjects.heartbeat, encode({ node: this.nodeId, agents: this.held, at: now }));
  }

  /** Publishes presence in batches of the schema's bound. */
  #announce(online: boolean, agentIds: string[], resync = false): void {
    const at = this.#init.clock.now();
    for (let i = 0; i < agentIds.length; i += 1000)
      this.#init.transport.publish(
        this.#subjects.presence,
        encode({ node: this.nodeId, online, agentIds: agentIds.slice(i, i + 1000), at, ...(resync ? { resync } : {}) }),
      );
  }
}
