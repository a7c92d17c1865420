/**
 * The sessions service: opens shell sessions on agents for authorised technicians (ticket, channel, recording,
 * audit), routes agent channel frames and replies to them, enforces idle timeout and maximum duration, and lists
 * sessions and their recordings. It is the gateway's channel router.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ChannelFrame, decodeFrame, OutpostError, signTicket, type TicketCapability } from '@outpost/shared';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AgentConnection, ChannelReply, ChannelRouter, ConnectionRegistry } from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { Db } from '../db/index.js';
import { FrameWindow } from '../http/frame-window.js';
import { keepAliveRound } from './keepalive.js';
import type { TicketKey } from './keys.js';
import { type EndInfo, LiveShell } from './live.js';
import { LiveTransfer } from './live-transfer.js';
import { outcomeOf } from './outcome.js';
import { CastRecorder, salvageCast } from './recorder.js';
import { type SessionRecord, SessionsStore } from './store.js';
import { openTransfer, type TransferDeps, type TransferRequest } from './transfers.js';
import { TECH_CHANNEL } from './wire.js';

/**
 * Frames (text or binary) a technician socket may send per second. Typing is a few dozen; an upload at 1 GB/s in
 * 32 KiB frames, or the credit frames of a fast shell output, stay well under it; a flood is cut within a second.
 */
export const TECH_FRAMES_PER_SECOND = 50_000;

/** Session settings (config `sessions`). */
export interface SessionsOptions {
  dataDir: string;
  idleTimeoutMs: number;
  maxDurationMs: number;
  recordingFailure: 'refuse' | 'allow';
  openTimeoutMs: number;
  ticketTtlMs: number;
  /** Largest file relayed by a transfer, either way. */
  fileMaxBytes: number;
  /** Technician sockets are pinged this often; one that missed the previous ping is dropped. */
  keepAliveMs: number;
}

/** Who opens a session, on which agent. */
export interface OpenRequest {
  actor: Extract<Actor, { kind: 'user' }>;
  agentId: string;
  clientId: string;
  siteId: string;
  cols: number;
  rows: number;
  elevated: boolean;
  ip: string;
}

/**
 * Told when a session opened on a machine (app.ts wires it to the incidents timeline). Its failure never fails the
 * session.
 */
export type SessionOpenedHook = (
  agentId: string,
  session: { sessionId: string; user: string; kind: 'shell' | 'upload' | 'download' },
) => Promise<unknown>;

/** A session's resize audit state (one row per second at most; the last size of a burst is written too). */
interface ResizeAudit {
  at: number;
  pending?: { actor: OpenRequest['actor']; cols: number; rows: number };
  timer?: NodeJS.Timeout;
}

/** A channel waiting for the agent's answer to shell.open (only a reply naming its session counts). */
interface Pending {
  sessionId: string;
  resolve(msg: ChannelReply): void;
}

/** What the sessions service is built from. */
export interface SessionsInit {
  db: Db;
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
}

/** Remote shell sessions. */
export class Sessions implements ChannelRouter {
  readonly store: SessionsStore;
  readonly dataDir: string;
  readonly live = new Map<string, LiveShell>();
  /** Live file transfers by session id. */
  readonly transfers = new Map<string, LiveTransfer>();
  readonly #byChannel = new Map<AgentConnection, Map<number, LiveShell | LiveTransfer | Pending>>();
  readonly #nextChannel = new WeakMap<AgentConnection, number>();
  #sweep: NodeJS.Timeout | undefined;
  #keepAliveTimer: NodeJS.Timeout | undefined;
  /** Every open technician socket (writer, joiner, transfer) by the user it belongs to. */
  readonly #socketsByUser = new Map<string, Set<WebSocket>>();
  readonly #ending = new Set<Promise<void>>();
  /** Malformed channel frames dropped per agent connection (for the log's throttle). */
  readonly #malformedFrames = new WeakMap<AgentConnection, number>();
  /** Resize audit per session: when a row was last written, and the newest size waiting for its turn. */
  readonly #resizeAudit = new WeakMap<LiveShell, ResizeAudit>();

  private readonly registry: ConnectionRegistry;
  private readonly audit: AuditLog;
  private readonly key: TicketKey;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: SessionsOptions;
  private readonly onOpened: SessionOpenedHook;
  constructor(init: SessionsInit) {
    this.store = new SessionsStore(init.db);
    this.registry = init.registry;
    this.audit = init.audit;
    this.key = init.key;
    this.clock = init.clock;
    this.logger = init.logger;
    this.options = init.options;
    this.onOpened = init.onOpened ?? (async () => undefined);
    this.dataDir = init.options.dataDir;
  }

  get sessionKey(): string {
    return this.key.publicKey;
  }

  /** Orphans of a previous run being ended (see `recoverOrphans`). */
  #recovering: Promise<void> = Promise.resolve();

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

  /**
   * Ends the sessions a previous run of the collector left open: killed (SIGKILL, power loss) while a shell or
   * transfer ran, it never finished their rows, which said "recording" for ever with the recording unreachable.
   * Each is ended with outcome `ended`, code OUTPOST_E_UNAVAILABLE and reason "collector restarted" (the agent
   * already ended its side when the socket dropped), its recording salvaged up to the last complete event
   * (`truncated`; `failed` if nothing could be read), and a close row is audited. The rows are read before any
   * new session can open, so only orphans are touched. Single-node: a shared store would need a node owner per row.
   */
  async recoverOrphans(): Promise<void> {
    const orphans = this.store.unfinished();
    for (const r of await orphans) {
      if (this.live.has(r.id) || this.transfers.has(r.id)) continue;
      let endedAt = this.clock.now();
      let recordingStatus = r.recordingStatus;
      let recordingBytes: number | null = null;
      let salvaged: { events: number; lastT: number } | undefined;
      if (r.recordingFile && r.recordingStatus === 'recording') {
        const file = join(this.options.dataDir, r.recordingFile);
        const s = salvageCast(file);
        salvaged = s;
        recordingStatus = s ? 'truncated' : 'failed';
        recordingBytes = s?.bytes ?? null;
        // The session stopped when its recording did, not when the collector came back.
        if (s) endedAt = Math.min(endedAt, Math.max(r.startedAt, r.startedAt + Math.round(s.lastT * 1000)));
        if (!s) {
          try {
            statSync(file);
            this.logger.warn({ sessionId: r.id, file }, 'the recording of an orphaned session is unreadable');
          } catch {
            this.logger.warn({ sessionId: r.id, file }, 'the recording of an orphaned session is missing');
          }
        }
      }
      const reason = 'collector restarted';
      await this.store.finish(r.id, {
        endedAt,
        exitCode: null,
        closeReason: reason,
        outcome: 'ended',
        outcomeCode: 'OUTPOST_E_UNAVAILABLE',
        recordingStatus,
        recordingBytes,
        bytesOut: r.bytesOut,
        bytesIn: r.bytesIn,
      });
      await this.audit.record({
        type: r.kind === 'shell' ? 'shell.close' : r.kind === 'upload' ? 'file.upload' : 'file.download',
        code: 'OUTPOST_E_UNAVAILABLE',
        result: 'failure',
        actor: { kind: 'user', id: r.userId, name: r.userEmail },
        clientId: r.clientId,
        agentId: r.agentId,
        sessionId: r.id,
        resource: `agent:${r.agentId}`,
        details: { reason, recording: recordingStatus, events: salvaged?.events ?? null },
      });
      this.logger.warn(
        { sessionId: r.id, kind: r.kind, recording: recordingStatus },
        'ended a session orphaned by a collector restart',
      );
    }
  }

  #track(userId: string, ws: WebSocket): void {
    const set = this.#socketsByUser.get(userId) ?? new Set<WebSocket>();
    this.#socketsByUser.set(userId, set);
    set.add(ws);
    ws.once('close', () => {
      set.delete(ws);
      if (set.size === 0 && this.#socketsByUser.get(userId) === set) this.#socketsByUser.delete(userId);
    });
  }

  /**
   * Cuts every technician socket of a user whose access just ended (disabled): the shells they write to end as on
   * any disconnect, and their read-only joins and transfers close. Returns how many sockets were cut.
   */
  endForUser(userId: string, reason: string): number {
    const set = this.#socketsByUser.get(userId);
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
  allocate(conn: AgentConnection, peer: LiveShell | LiveTransfer | Pending): number {
    let map = this.#byChannel.get(conn);
    if (!map) {
      map = new Map();
      this.#byChannel.set(conn, map);
    }
    let id = this.#nextChannel.get(conn) ?? 1;
    while (map.has(id)) id = id >= 0xfffffffe ? 1 : id + 1;
    this.#nextChannel.set(conn, id >= 0xfffffffe ? 1 : id + 1);
    map.set(id, peer);
    return id;
  }

  /** Opens a shell session for a technician socket; resolves once the agent answered (or refused). */
  async openShell(req: OpenRequest, ws: WebSocket): Promise<LiveShell> {
    this.#track(req.actor.id, ws);
    const conn = this.registry.get(req.agentId);
    const auditBase = {
      actor: actorRef(req.actor),
      clientId: req.clientId,
      agentId: req.agentId,
      resource: `agent:${req.agentId}`,
      remoteIp: req.ip,
    };
    if (!conn) {
      await this.audit.record({ ...auditBase, type: 'shell.open', code: 'OUTPOST_E_AGENT_OFFLINE', result: 'failure' });
      throw new OutpostError('OUTPOST_E_AGENT_OFFLINE');
    }
    const id = `ss_${randomBytes(12).toString('hex')}`;
    const startedAt = this.clock.now();
    let recorder: CastRecorder | undefined;
    let recordingStatus: SessionRecord['recordingStatus'] = 'recording';
    const recordingFile = join('recordings', `${id}.cast.gz`);
    let live: LiveShell | undefined;
    const onRecordingFail = (err: Error) => {
      this.logger.error({ err, sessionId: id }, 'session recording failed');
      recordingStatus = 'failed';
      if (this.options.recordingFailure === 'refuse')
        live?.end({ reason: 'recording failed', exitCode: null, code: 'OUTPOST_E_RECORDING_FAILED' });
    };
    try {
      recorder = CastRecorder.open(
        join(this.options.dataDir, recordingFile),
        { cols: req.cols, rows: req.rows, startedAt, title: `${req.actor.email} on ${req.agentId}` },
        onRecordingFail,
      );
    } catch (err) {
      this.logger.error({ err, sessionId: id }, 'cannot start the session recording');
      recordingStatus = 'failed';
      if (this.options.recordingFailure === 'refuse') {
        await this.audit.record({
          ...auditBase,
          sessionId: id,
          type: 'shell.open',
          code: 'OUTPOST_E_RECORDING_FAILED',
          result: 'failure',
        });
        throw err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_RECORDING_FAILED', { cause: err });
      }
    }
    const record: Omit<SessionRecord, 'outcome' | 'outcomeCode'> = {
      id,
      kind: 'shell',
      agentId: req.agentId,
      clientId: req.clientId,
      siteId: req.siteId,
      userId: req.actor.id,
      userEmail: req.actor.email,
      elevated: req.elevated,
      path: null,
      startedAt,
      endedAt: null,
      exitCode: null,
      closeReason: null,
      cols: req.cols,
      rows: req.rows,
      recordingFile: recorder ? recordingFile : null,
      recordingBytes: null,
      recordingStatus: recorder ? 'recording' : 'failed',
      bytesOut: 0,
      bytesIn: 0,
      sha256: null,
    };
    await this.store.insert(record);

    let answer!: (m: ChannelReply) => void;
    const replied = new Promise<ChannelReply>((resolve) => {
      answer = resolve;
    });
    const channel = this.allocate(conn, { sessionId: id, resolve: (m) => answer(m) });
    conn.send({
      type: 'shell.open',
      id,
      expiresAt: startedAt + this.options.openTimeoutMs,
      sessionId: id,
      channel,
      ticket: this.ticket(req.agentId, id, req.actor, [req.elevated ? 'shell.elevated' : 'shell']),
      cols: req.cols,
      rows: req.rows,
      elevated: req.elevated,
    });
    const timer = setTimeout(
      () =>
        answer({
          type: 'shell.refused',
          channel,
          sessionId: id,
          code: 'OUTPOST_E_AGENT_OFFLINE',
          message: 'no answer from the agent',
        }),
      this.options.openTimeoutMs,
    );
    const wsClosed = new Promise<'closed'>((resolve) => ws.once('close', () => resolve('closed')));
    const reply = await Promise.race([replied, wsClosed]);
    clearTimeout(timer);
    const map = this.#byChannel.get(conn);
    if (reply === 'closed' || reply.type !== 'shell.opened') {
      map?.delete(channel);
      const code =
        reply === 'closed'
          ? 'OUTPOST_E_SESSION_ENDED'
          : reply.type === 'shell.refused'
            ? reply.code
            : 'OUTPOST_E_INTERNAL';
      const message =
        reply === 'closed'
          ? 'technician left before the session opened'
          : reply.type === 'shell.refused'
            ? reply.message
            : 'unexpected reply';
      if (reply !== 'closed') conn.send({ type: 'shell.close', channel, reason: 'open abandoned' });
      // Nothing ran: the header-only recording is removed and the row says so (it used to stay 'recording').
      await recorder?.close();
      if (recorder) await rm(recorder.path, { force: true }).catch(() => undefined);
      // No answer (timeout, agent gone) or a technician who left is a failure; an answer is the agent's refusal.
      const refused = reply !== 'closed' && reply.type === 'shell.refused' && code !== 'OUTPOST_E_AGENT_OFFLINE';
      await this.store.finish(id, {
        endedAt: this.clock.now(),
        exitCode: null,
        closeReason: `refused: ${message}`,
        outcome: refused ? 'refused' : 'failed',
        outcomeCode: code,
        recordingStatus: recordingStatus === 'failed' ? 'failed' : 'none',
        recordingBytes: null,
        bytesOut: 0,
        bytesIn: 0,
      });
      await this.audit.record({
        ...auditBase,
        sessionId: id,
        type: 'shell.open',
        code,
        result: 'failure',
        details: { message, elevated: req.elevated },
      });
      throw new OutpostError(
        code === 'OUTPOST_E_TICKET_INVALID'
          ? 'OUTPOST_E_TICKET_INVALID'
          : code === 'OUTPOST_E_AGENT_OFFLINE'
            ? 'OUTPOST_E_AGENT_OFFLINE'
            : 'OUTPOST_E_SESSION_REFUSED',
        { message, details: { agentCode: code } },
      );
    }
    live = new LiveShell(id, conn, channel, ws, recorder, startedAt, this.clock, req, (s, info) => {
      const p = this.#ended(s, info, () => recordingStatus)
        .catch((err: unknown) => this.logger.error({ err, sessionId: s.id }, 'cannot finish the session row'))
        .finally(() => this.#ending.delete(p));
      this.#ending.add(p);
    });
    map?.set(channel, live);
    this.live.set(id, live);
    await this.audit.record({
      ...auditBase,
      sessionId: id,
      type: 'shell.open',
      code: 'OK',
      result: 'success',
      details: { elevated: req.elevated, runAs: reply.user, cols: req.cols, rows: req.rows },
    });
    await this.#opened(req.agentId, { sessionId: id, user: req.actor.email, kind: 'shell' });
    live.broadcast({ type: 'session.ready', sessionId: id, runAs: reply.user, readOnly: false });
    ws.on('close', () => live?.end({ reason: 'technician disconnected', exitCode: null }));
    return live;
  }

  /** Opens a file transfer for a technician socket (see transfers.ts). */
  async openTransfer(req: TransferRequest, ws: WebSocket): Promise<LiveTransfer> {
    this.#track(req.actor.id, ws);
    const deps: TransferDeps = {
      registry: this.registry,
      store: this.store,
      audit: this.audit,
      clock: this.clock,
      logger: this.logger,
      openTimeoutMs: this.options.openTimeoutMs,
      fileMaxBytes: this.options.fileMaxBytes,
      transfers: this.transfers,
      ticket: (a, id, actor, caps) => this.ticket(a, id, actor, caps),
      allocate: (conn, peer) => this.allocate(conn, peer),
      release: (conn, channel) => this.#byChannel.get(conn)?.delete(channel),
      track: (p) => {
        const q = p.finally(() => this.#ending.delete(q));
        this.#ending.add(q);
      },
    };
    const t = await openTransfer(deps, req, ws);
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

  async #ended(s: LiveShell, info: EndInfo, status: () => SessionRecord['recordingStatus']): Promise<void> {
    this.live.delete(s.id);
    this.#byChannel.get(s.agent)?.delete(s.channel);
    await this.#flushResizeAudit(s).catch((err: unknown) =>
      this.logger.warn({ err, sessionId: s.id }, 'session resize not recorded'),
    );
    let bytes: number | null = null;
    if (s.recorder) bytes = await s.recorder.close();
    const recordingStatus = status() === 'recording' ? 'ok' : status();
    await this.store.finish(s.id, {
      endedAt: this.clock.now(),
      exitCode: info.exitCode,
      closeReason: info.reason,
      outcome: outcomeOf(info.code),
      outcomeCode: info.code ?? null,
      recordingStatus,
      recordingBytes: bytes,
      bytesOut: s.bytesOut,
      bytesIn: s.bytesIn,
    });
    const rec = await this.store.get(s.id);
    await this.audit
      .record({
        type: 'shell.close',
        code: info.code ?? 'OK',
        result: 'success',
        actor: { kind: 'user', id: rec?.userId ?? null, name: rec?.userEmail ?? null },
        clientId: rec?.clientId ?? null,
        agentId: s.agent.agentId,
        sessionId: s.id,
        resource: `agent:${s.agent.agentId}`,
        details: {
          reason: info.reason,
          exitCode: info.exitCode,
          bytesOut: s.bytesOut,
          bytesIn: s.bytesIn,
          recording: recordingStatus,
        },
      })
      .catch((err: unknown) => this.logger.error({ err }, 'audit of session close failed'));
  }

  /** Adds a read-only joiner to a live session. */
  async join(sessionId: string, actor: OpenRequest['actor'], ws: WebSocket, ip: string): Promise<LiveShell> {
    const s = this.live.get(sessionId);
    if (!s) throw new OutpostError('OUTPOST_E_SESSION_ENDED', { message: `session ${sessionId} is not live` });
    this.#track(actor.id, ws);
    s.joiners.add(ws);
    ws.on('close', () => s.joiners.delete(ws));
    const rec = await this.store.get(sessionId);
    await this.audit.record({
      type: 'shell.join',
      code: 'OK',
      result: 'success',
      actor: actorRef(actor),
      clientId: rec?.clientId ?? null,
      agentId: s.agent.agentId,
      sessionId,
      resource: `session:${sessionId}`,
      remoteIp: ip,
      details: { readOnly: true },
    });
    ws.send(JSON.stringify({ type: 'session.ready', sessionId, runAs: '', readOnly: true }));
    return s;
  }

  /** Records a resize in the audit log and forwards it. */
  async resize(s: LiveShell, actor: OpenRequest['actor'], cols: number, rows: number): Promise<void> {
    if (s.ended) return;
    s.resize(cols, rows);
    // Dragging a window edge sends dozens of sizes a second: the audit log keeps at most one row per session per
    // second (a technician cannot flood it), and the size a burst ends on is written when its second is up.
    const st = this.#resizeAudit.get(s) ?? { at: Number.NEGATIVE_INFINITY };
    this.#resizeAudit.set(s, st);
    const now = this.clock.now();
    if (!st.timer && now - st.at >= 1000) {
      st.at = now;
      await this.#auditResize(s, actor, cols, rows);
      return;
    }
    st.pending = { actor, cols, rows };
    st.timer ??= setTimeout(
      () => {
        st.timer = undefined;
        this.#flushResizeAudit(s).catch((err: unknown) =>
          this.logger.warn({ err, sessionId: s.id }, 'session resize not recorded'),
        );
      },
      Math.min(1000, Math.max(0, st.at + 1000 - now)),
    ).unref();
  }

  /** Writes the size still waiting for its audit row, if any (its second is up, or the session ended). */
  async #flushResizeAudit(s: LiveShell): Promise<void> {
    const st = this.#resizeAudit.get(s);
    if (!st?.pending) return;
    clearTimeout(st.timer);
    st.timer = undefined;
    const { actor, cols, rows } = st.pending;
    st.pending = undefined;
    st.at = this.clock.now();
    await this.#auditResize(s, actor, cols, rows);
  }

  async #auditResize(s: LiveShell, actor: OpenRequest['actor'], cols: number, rows: number): Promise<void> {
    const rec = await this.store.get(s.id);
    await this.audit.record({
      type: 'shell.resize',
      code: 'OK',
      result: 'success',
      actor: actorRef(actor),
      clientId: rec?.clientId ?? null,
      agentId: s.agent.agentId,
      sessionId: s.id,
      resource: `session:${s.id}`,
      details: { cols, rows },
    });
  }

  /** A technician frame (writer only). */
  /** A frame budget for one technician socket (text and binary frames alike, TECH_FRAMES_PER_SECOND). */
  techFrames(): FrameWindow {
    return new FrameWindow(TECH_FRAMES_PER_SECOND, 1000, () => this.clock.now());
  }

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
    let frame: ChannelFrame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      // Logged without a stack and at most ten times per connection (then every thousandth): an agent must not be
      // able to fill the collector's log with frames that cost it nothing to send.
      const n = (this.#malformedFrames.get(conn) ?? 0) + 1;
      this.#malformedFrames.set(conn, n);
      if (n <= 10 || n % 1000 === 0)
        this.logger.warn(
          { agentId: conn.agentId, reason: (err as Error).message, malformedFrames: n },
          'malformed channel frame from an agent; dropped',
        );
      return false;
    }
    const peer = this.#byChannel.get(conn)?.get(frame.channel);
    if (peer instanceof LiveShell) peer.fromAgent(frame, data);
    else if (peer instanceof LiveTransfer) peer.fromAgent(frame, data);
    else return false;
    return true;
  }

  onReply(conn: AgentConnection, msg: ChannelReply): void {
    const peer = this.#byChannel.get(conn)?.get(msg.channel);
    if (!peer) return;
    if (peer instanceof LiveTransfer) {
      peer.onReply(msg);
      return;
    }
    if (!(peer instanceof LiveShell)) {
      if (msg.sessionId === peer.sessionId) peer.resolve(msg);
      return;
    }
    if (msg.sessionId !== peer.id) return;
    if (msg.type === 'shell.noecho') peer.noEcho(msg.from, msg.to);
    else if (msg.type === 'shell.exit') peer.end({ reason: 'shell exited', exitCode: msg.exitCode });
    else if (msg.type === 'shell.refused') peer.end({ reason: msg.message, exitCode: null, code: msg.code });
  }

  onClose(conn: AgentConnection): void {
    const map = this.#byChannel.get(conn);
    this.#byChannel.delete(conn);
    for (const peer of map?.values() ?? []) {
      if (peer instanceof LiveShell)
        peer.end({ reason: 'agent disconnected', exitCode: null, code: 'OUTPOST_E_AGENT_OFFLINE' });
      else if (peer instanceof LiveTransfer) {
        peer.refuseOpen(new OutpostError('OUTPOST_E_AGENT_OFFLINE', { message: 'agent disconnected' }));
        peer.end({ reason: 'agent disconnected', exitCode: null, code: 'OUTPOST_E_AGENT_OFFLINE' }, false);
      } else
        peer.resolve({
          type: 'shell.refused',
          channel: 0 + 1,
          sessionId: peer.sessionId,
          code: 'OUTPOST_E_AGENT_OFFLINE',
          message: 'agent disconnected',
        });
    }
  }

  /** Ends every live session (collector stopping) and waits for their rows and recordings to be finished. */
  async stop(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
    clearInterval(this.#keepAliveTimer);
    await this.#recovering;
    for (const s of [...this.live.values(), ...this.transfers.values()])
      s.end({ reason: 'collector stopping', exitCode: null, code: 'OUTPOST_E_UNAVAILABLE' });
    await Promise.all([...this.#ending]);
  }
}
