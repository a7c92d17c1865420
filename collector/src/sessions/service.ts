/**
 * The sessions service: opens shell sessions on agents for authorised technicians (ticket, channel, recording,
 * audit), routes agent channel frames and replies to them, enforces idle timeout and maximum duration, and lists
 * sessions and their recordings. It is the gateway's channel router. Each job lives in its own module: opening and
 * finishing shells (open-shell.ts) and transfers (transfers.ts), the channel relay (relay.ts), read-only joins
 * (join.ts), the resize audit (resize-audit.ts), orphan recovery (recovery.ts); this class holds their shared state.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type ChannelFrame, decodeFrame, OutpostError, signTicket, type TicketCapability } from '@outpost/shared';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AgentConnection, AgentLink, ChannelReply, ChannelRouter, ConnectionRegistry } from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import type { BusStream } from '../cluster/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import { FrameWindow } from '../http/frame-window.js';
import { joinReadOnly } from './join.js';
import { keepAliveRound } from './keepalive.js';
import type { TicketKey } from './keys.js';
import type { LiveShell } from './live.js';
import type { LiveTransfer } from './live-transfer.js';
import { openShell, type ShellDeps } from './open-shell.js';
import { type RecoveryDeps, recoverGoneNodes, recoverOwnOrphans } from './recovery.js';
import { type ChannelPeer, ChannelRelay } from './relay.js';
import { RelayedChannel, RemoteAgentLink } from './remote.js';
import { ResizeAudit } from './resize-audit.js';
import { SessionsStore } from './store.js';
import { TechSockets } from './tech-sockets.js';
import { openTransfer, type TransferDeps, type TransferRequest } from './transfers.js';
import type { OpenRequest, RecordingShare, SessionOpenedHook, SessionsOptions } from './types.js';
import { TECH_CHANNEL } from './wire.js';

export type { OpenRequest, SessionOpenedHook, SessionsOptions } from './types.js';

/**
 * Frames (text or binary) a technician socket may send per second. Typing is a few dozen; an upload at 1 GB/s in
 * 32 KiB frames, or the credit frames of a fast shell output, stay well under it; a flood is cut within a second.
 */
export const TECH_FRAMES_PER_SECOND = 50_000;

/** What the sessions service is built from. */
export interface SessionsInit {
  db: SqlDb;
  /** Live agent connections (shells and transfers ride on them). */
  registry: ConnectionRegistry;
  audit: AuditLog;
  /** Signs the single-use tickets agents check before opening anything. */
  key: TicketKey;
  clock: Clock;
  logger: Logger;
  options: SessionsOptions;
  /** Told of every session opened (incidents put it on the machine's timeline). */
  onOpened?: SessionOpenedHook;
  /** Agents held by other collector nodes (docs/0017-nodes.md); absent: only this node's sockets are reachable. */
  cluster?: SessionsCluster;
  /** This collector node, recorded on each session row it opens (default `local`). */
  node?: string;
  /** Finished recordings kept for every node (several nodes, one data directory each). */
  recordings?: RecordingShare | undefined;
}

/** What sessions ask of the node bus: a relayed stream to the node holding an agent's socket. */
export interface SessionsCluster {
  /** The stream, or undefined when no node holds the agent (OUTPOST_E_AGENT_OFFLINE on the bus). */
  open(agentId: string, kind: 'shell' | 'file'): Promise<BusStream | undefined>;
  /**
   * The nodes alive in the deployment, once this node has listened to presence for a full node TTL (so that a node
   * missing from it is gone); rejects when `signal` aborts first.
   */
  liveNodes(signal: AbortSignal): Promise<ReadonlySet<string>>;
}

/** Remote shell sessions. */
export class Sessions implements ChannelRouter {
  readonly store: SessionsStore;
  readonly dataDir: string;
  readonly live = new Map<string, LiveShell>();
  /** Live file transfers by session id. */
  readonly transfers = new Map<string, LiveTransfer>();
  readonly #relay: ChannelRelay;
  readonly #sockets = new TechSockets();
  readonly #resizes: ResizeAudit;
  readonly #ending = new Set<Promise<void>>();
  readonly #shellDeps: ShellDeps;
  readonly #transferDeps: TransferDeps;
  #sweep: NodeJS.Timeout | undefined;
  #keepAliveTimer: NodeJS.Timeout | undefined;
  /** Orphans of a previous run being ended (see `recoverOrphans`). */
  #recovering: Promise<void> = Promise.resolve();
  /** Stops the wait for the other nodes' presence when the collector stops first. */
  readonly #stopping = new AbortController();

  private readonly audit: AuditLog;
  private readonly key: TicketKey;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: SessionsOptions;
  private readonly onOpened: SessionOpenedHook;
  readonly #registry: ConnectionRegistry;
  /** Sessions of other nodes relayed to agents held here. */
  readonly #relayed = new Set<RelayedChannel>();
  readonly #cluster: SessionsCluster | undefined;
  readonly #recordings: RecordingShare | undefined;

  constructor(init: SessionsInit) {
    this.#registry = init.registry;
    this.#cluster = init.cluster;
    this.#recordings = init.recordings;
    this.store = new SessionsStore(init.db, init.node);
    this.audit = init.audit;
    this.key = init.key;
    this.clock = init.clock;
    this.logger = init.logger;
    this.options = init.options;
    this.onOpened = init.onOpened ?? (async () => undefined);
    this.dataDir = init.options.dataDir;
    this.#relay = new ChannelRelay(init.logger);
    this.#resizes = new ResizeAudit({ store: this.store, audit: init.audit, clock: init.clock, logger: init.logger });
    const common = {
      link: (agentId: string, kind: 'shell' | 'file') => this.#link(agentId, kind),
      store: this.store,
      audit: init.audit,
      clock: init.clock,
      logger: init.logger,
      ticket: (a: string, id: string, actor: OpenRequest['actor'], caps: TicketCapability[]) =>
        this.ticket(a, id, actor, caps),
      track: (p: Promise<void>) => {
        const q = p.finally(() => this.#ending.delete(q));
        this.#ending.add(q);
      },
    };
    this.#shellDeps = {
      ...common,
      options: init.options,
      relay: this.#relay,
      live: this.live,
      opened: (agentId, session) => this.#opened(agentId, session),
      flushResize: (s) => this.#resizes.flush(s),
      recordings: init.recordings,
    };
    this.#transferDeps = {
      ...common,
      openTimeoutMs: init.options.openTimeoutMs,
      fileMaxBytes: init.options.fileMaxBytes,
      transfers: this.transfers,
      allocate: (conn, peer) => this.#relay.allocate(conn, peer),
      release: (conn, channel) => this.#relay.release(conn, channel),
    };
  }

  /** The agent's socket here, else a link through the node holding it (this node records; that one relays). */
  async #link(agentId: string, kind: 'shell' | 'file'): Promise<AgentLink | undefined> {
    const local = this.#registry.get(agentId);
    if (local || !this.#cluster) return local;
    const stream = await this.#cluster.open(agentId, kind);
    if (!stream) return undefined;
    const link = new RemoteAgentLink(agentId, stream, this.logger);
    link.run({
      onFrame: (l, data) => this.#relay.onFrame(l, data),
      onReply: (l, msg) => this.#relay.onReply(l, msg),
      onClose: (l, code, reason) => this.#relay.onClose(l, code, reason),
    });
    return link;
  }

  /**
   * Another node's session to an agent held here (the bus's `stream.open`): relays it on a channel of the agent's
   * socket until either side ends. Access was checked, and the session is recorded, on the technician's node.
   */
  acceptRelayed(conn: AgentConnection, stream: BusStream): void {
    const channel = new RelayedChannel(
      conn,
      stream,
      {
        allocate: (c, peer) => this.#relay.allocate(c, peer),
        release: (c, ch) => this.#relay.release(c, ch),
      },
      this.logger,
    );
    void channel.run();
  }

  get sessionKey(): string {
    return this.key.publicKey;
  }

  /** Starts the idle/max-duration sweep, after ending the sessions a previous run left open. */
  start(): void {
    this.#recovering = this.recoverOrphans().catch((err: unknown) =>
      this.logger.error({ err }, 'could not end the sessions of the previous run'),
    );
    this.#sweep = setInterval(() => this.sweep(), Math.min(1000, this.options.idleTimeoutMs)).unref();
    this.#keepAliveTimer = setInterval(() => this.keepAlive(), this.options.keepAliveMs).unref();
  }

  /**
   * One keep-alive round over every technician socket: a writer or transfer silent for more than two rounds ends
   * its session (so the session's processes are killed now, not at the idle timeout); a silent watcher is dropped.
   */
  keepAlive(): void {
    const owners = new Map<WebSocket, LiveShell | LiveTransfer>();
    for (const s of this.live.values()) owners.set(s.writer, s);
    for (const t of this.transfers.values()) owners.set(t.tech, t);
    const joiners = [...this.live.values()].flatMap((s) => [...s.joiners]);
    keepAliveRound([...owners.keys(), ...joiners], this.options.keepAliveMs, (ws) => {
      const reason = `technician unreachable: silent for more than ${2 * this.options.keepAliveMs} ms`;
      this.logger.warn({ sessionId: owners.get(ws)?.id }, reason);
      owners.get(ws)?.end({ reason, exitCode: null, code: 'OUTPOST_E_SESSION_ENDED' });
      ws.terminate();
    });
  }

  /** This collector node (as recorded on the session rows it opens). */
  get nodeId(): string {
    return this.store.node;
  }

  /**
   * A finished recording's bytes (gzip): this node's file, else the copy the recording node stored in the database.
   * Neither: OUTPOST_E_NOT_FOUND (a recording on a node without a shared store, or one that died before storing it).
   */
  async openRecording(relPath: string): Promise<Readable> {
    const local = join(this.dataDir, relPath);
    if (existsSync(local)) return createReadStream(local);
    const shared = await this.#recordings?.read(relPath);
    if (shared) return shared;
    throw new OutpostError('OUTPOST_E_NOT_FOUND', {
      message: this.#recordings
        ? 'The recording is neither on this node nor stored in the database'
        : "The recording is not in this node's data directory",
      details: { recordingFile: relPath },
    });
  }

  /**
   * Ends the sessions a previous run of the collector left open (see recovery.ts): on one node every unfinished row;
   * with other nodes, this node's own at once, then those of nodes found gone once presence has been heard for a TTL.
   */
  async recoverOrphans(): Promise<void> {
    const d: RecoveryDeps = {
      node: this.store.node,
      store: this.store,
      audit: this.audit,
      clock: this.clock,
      logger: this.logger,
      dataDir: this.options.dataDir,
      isLive: (id) => this.live.has(id) || this.transfers.has(id),
      recordings: this.#recordings,
    };
    await recoverOwnOrphans(d, !this.#cluster);
    if (!this.#cluster) return;
    let live: ReadonlySet<string>;
    try {
      live = await this.#cluster.liveNodes(this.#stopping.signal);
    } catch {
      return; // stopping before presence settled: the next node to start ends them
    }
    await recoverGoneNodes(d, live);
  }

  /**
   * Cuts every technician socket of a user whose access just ended (disabled): the shells they write to end as on
   * any disconnect, and their read-only joins and transfers close. Returns how many sockets were cut.
   */
  endForUser(userId: string, reason: string): number {
    const set = this.#sockets.of(userId);
    if (!set) return 0;
    const sockets = [...set];
    const end = { reason, exitCode: null, code: 'OUTPOST_E_SESSION_ENDED' as const };
    // Their own shells and transfers end with the reason on record (audit, outcome), not as a plain disconnect.
    for (const s of this.live.values()) if (set.has(s.writer)) s.end(end);
    for (const t of this.transfers.values()) if (set.has(t.tech)) t.end(end);
    for (const ws of sockets) {
      if (ws.readyState === ws.OPEN) ws.close(4483, `OUTPOST_E_SESSION_ENDED ${reason}`.slice(0, 120));
      // A socket that does not finish its closing handshake promptly is dropped.
      setTimeout(() => ws.terminate(), 1000).unref();
    }
    this.logger.info({ userId, sockets: sockets.length, reason }, 'ended the live sessions of a user');
    return sockets.length;
  }

  /** Ends sessions and transfers past their idle timeout or maximum duration. */
  sweep(): void {
    const now = this.clock.now();
    for (const s of [...this.live.values(), ...this.transfers.values()]) {
      if (now - s.startedAt >= this.options.maxDurationMs)
        s.end({ reason: 'maximum duration reached', exitCode: null, code: 'OUTPOST_E_SESSION_ENDED' });
      else if (now - s.lastActivity >= this.options.idleTimeoutMs)
        s.end({ reason: 'idle timeout', exitCode: null, code: 'OUTPOST_E_SESSION_ENDED' });
    }
  }

  /** Signs a single-use ticket for one session. */
  ticket(agentId: string, sessionId: string, actor: OpenRequest['actor'], caps: TicketCapability[]): string {
    const iat = this.clock.now();
    return signTicket(this.key.privateKey, {
      v: 1,
      tid: randomBytes(18).toString('base64url'),
      agentId,
      sessionId,
      userId: actor.id,
      user: actor.email,
      caps,
      iat,
      exp: iat + this.options.ticketTtlMs,
    });
  }

  /** Gives a peer the next free channel id on an agent socket. */
  allocate(conn: AgentLink, peer: ChannelPeer): number {
    return this.#relay.allocate(conn, peer);
  }

  /** Opens a shell session for a technician socket; resolves once the agent answered (see open-shell.ts). */
  async openShell(req: OpenRequest, ws: WebSocket): Promise<LiveShell> {
    this.#sockets.track(req.actor.id, ws);
    return openShell(this.#shellDeps, req, ws);
  }

  /** Opens a file transfer for a technician socket (see transfers.ts; `created` gets it before it is ready). */
  async openTransfer(req: TransferRequest, ws: WebSocket, created?: (t: LiveTransfer) => void): Promise<LiveTransfer> {
    this.#sockets.track(req.actor.id, ws);
    const t = await openTransfer(this.#transferDeps, req, ws, created);
    await this.#opened(req.agentId, { sessionId: t.id, user: req.actor.email, kind: req.direction });
    return t;
  }

  async #opened(agentId: string, session: Parameters<SessionOpenedHook>[1]): Promise<void> {
    try {
      await this.onOpened(agentId, session);
    } catch (err) {
      this.logger.error({ err, agentId, sessionId: session.sessionId }, 'could not report the opened session');
    }
  }

  /** Adds a read-only joiner to a live session (see join.ts). */
  async join(sessionId: string, actor: OpenRequest['actor'], ws: WebSocket, ip: string): Promise<LiveShell> {
    const d = { live: this.live, store: this.store, audit: this.audit };
    return joinReadOnly({ ...d, track: (w) => this.#sockets.track(actor.id, w) }, sessionId, actor, ws, ip);
  }

  /** Records a resize in the audit log (at most one row a second) and forwards it. */
  async resize(s: LiveShell, actor: OpenRequest['actor'], cols: number, rows: number): Promise<void> {
    await this.#resizes.resize(s, actor, cols, rows);
  }

  /** A frame budget for one technician socket (text and binary frames alike, TECH_FRAMES_PER_SECOND). */
  techFrames(): FrameWindow {
    return new FrameWindow(TECH_FRAMES_PER_SECOND, 1000, () => this.clock.now());
  }

  /** A technician frame (writer only); a malformed one ends the session. */
  fromTech(s: LiveShell | LiveTransfer, data: Buffer): void {
    let frame: ChannelFrame;
    try {
      frame = decodeFrame(data);
    } catch {
      s.end({ reason: 'malformed frame from the technician', exitCode: null, code: 'OUTPOST_E_BAD_MESSAGE' });
      return;
    }
    if (frame.channel !== TECH_CHANNEL) return;
    s.fromTech(frame, data);
  }

  onFrame(conn: AgentConnection, data: Buffer): boolean {
    return this.#relay.onFrame(conn, data);
  }

  onReply(conn: AgentConnection, msg: ChannelReply): void {
    this.#relay.onReply(conn, msg);
  }

  onClose(conn: AgentConnection): void {
    this.#relay.onClose(conn);
  }

  /** Ends every live session (collector stopping) and waits for their rows and recordings to be finished. */
  async stop(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
    clearInterval(this.#keepAliveTimer);
    this.#stopping.abort();
    await this.#recovering;
    for (const s of [...this.live.values(), ...this.transfers.values()])
      s.end({ reason: 'collector stopping', exitCode: null, code: 'OUTPOST_E_UNAVAILABLE' });
    for (const r of this.#relayed) r.end(new OutpostError('OUTPOST_E_UNAVAILABLE', { message: 'collector stopping' }));
    await Promise.all([...this.#ending]);
  }
}
