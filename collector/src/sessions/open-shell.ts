/**
 * Opening and finishing shell sessions: the session row, its recording (refused or allowed to fail by config), a
 * single-use `shell`/`shell.elevated` ticket in `shell.open`, the agent's answer awaited on a channel (or a timeout,
 * or the technician leaving), and one audit row for the opening and one for the close.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { OutpostError, type TicketCapability } from '@outpost/shared';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AgentLink, ChannelReply } from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import { actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import { type EndInfo, LiveShell } from './live.js';
import { outcomeOf } from './outcome.js';
import { CastRecorder } from './recorder.js';
import type { ChannelRelay } from './relay.js';
import type { SessionRecord, SessionsStore } from './store.js';
import type { OpenRequest, RecordingShare, SessionOpenedHook, SessionsOptions } from './types.js';

/** What opening a shell needs from the sessions service. */
export interface ShellDeps {
  /** The agent's socket here, or a link to the node holding it; undefined when no node does. */
  link(agentId: string, kind: 'shell' | 'file'): Promise<AgentLink | undefined>;
  store: SessionsStore;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  options: Pick<SessionsOptions, 'dataDir' | 'recordingFailure' | 'openTimeoutMs'>;
  relay: ChannelRelay;
  /** Live shells by session id. */
  live: Map<string, LiveShell>;
  ticket(agentId: string, sessionId: string, actor: OpenRequest['actor'], caps: TicketCapability[]): string;
  /** Tells the service's hook that a session opened (never throws). */
  opened: SessionOpenedHook;
  /** Writes the resize audit row still waiting when a shell ends. */
  flushResize(s: LiveShell): Promise<void>;
  /** Keeps a finishing promise so `stop()` can wait for it. */
  track(p: Promise<void>): void;
  /** Where a finished recording is also stored for the other nodes (several nodes, one data directory each). */
  recordings?: RecordingShare | undefined;
}

/** The audit fields every row of one opening shares. */
type AuditBase = ReturnType<typeof auditBaseOf>;

/** A session's recording: the recorder (none when it could not start) and its status, which may turn `failed`. */
interface Recording {
  recorder: CastRecorder | undefined;
  status: SessionRecord['recordingStatus'];
  /** Set once the shell is live, so a failing recording can end it under `recordingFailure: refuse`. */
  live?: LiveShell;
}

function auditBaseOf(req: OpenRequest) {
  return {
    actor: actorRef(req.actor),
    clientId: req.clientId,
    agentId: req.agentId,
    resource: `agent:${req.agentId}`,
    remoteIp: req.ip,
  };
}

/** Opens a shell session for a technician socket; resolves once the agent answered (or throws its refusal). */
export async function openShell(d: ShellDeps, req: OpenRequest, ws: WebSocket): Promise<LiveShell> {
  const auditBase = auditBaseOf(req);
  const conn = await d.link(req.agentId, 'shell');
  if (!conn) {
    await d.audit.record({ ...auditBase, type: 'shell.open', code: 'OUTPOST_E_AGENT_OFFLINE', result: 'failure' });
    throw new OutpostError('OUTPOST_E_AGENT_OFFLINE');
  }
  const id = `ss_${randomBytes(12).toString('hex')}`;
  const startedAt = d.clock.now();
  const recordingFile = join('recordings', `${id}.cast.gz`);
  const recording = await startRecording(d, req, id, startedAt, recordingFile, auditBase);
  await d.store.insert({
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
    recordingFile: recording.recorder ? recordingFile : null,
    recordingBytes: null,
    recordingStatus: recording.recorder ? 'recording' : 'failed',
    bytesOut: 0,
    bytesIn: 0,
    sha256: null,
  });
  const { channel, reply } = await askAgent(d, conn, req, id, startedAt, ws);
  if (reply === 'closed' || reply.type !== 'shell.opened')
    return abandon(d, conn, req, { id, channel, reply, recording, auditBase });
  const live = new LiveShell({
    id,
    agent: conn,
    channel,
    writer: ws,
    recorder: recording.recorder,
    startedAt,
    clock: d.clock,
    size: req,
    onEnd: (s, info) =>
      d.track(
        finishShell(d, s, info, () => recording.status).catch((err: unknown) =>
          d.logger.error({ err, sessionId: s.id }, 'cannot finish the session row'),
        ),
      ),
  });
  recording.live = live;
  d.relay.replace(conn, channel, live);
  d.live.set(id, live);
  await d.audit.record({
    ...auditBase,
    sessionId: id,
    type: 'shell.open',
    code: 'OK',
    result: 'success',
    details: { elevated: req.elevated, runAs: reply.user, cols: req.cols, rows: req.rows },
  });
  await d.opened(req.agentId, { sessionId: id, user: req.actor.email, kind: 'shell' });
  live.broadcast({ type: 'session.ready', sessionId: id, runAs: reply.user, readOnly: false });
  ws.on('close', () => live.end({ reason: 'technician disconnected', exitCode: null }));
  return live;
}

/** Starts the recording; under `recordingFailure: refuse` a recording that cannot start refuses the session. */
async function startRecording(
  d: ShellDeps,
  req: OpenRequest,
  id: string,
  startedAt: number,
  recordingFile: string,
  auditBase: AuditBase,
): Promise<Recording> {
  const recording: Recording = { recorder: undefined, status: 'recording' };
  const refuse = d.options.recordingFailure === 'refuse';
  const onRecordingFail = (err: Error) => {
    d.logger.error({ err, sessionId: id }, 'session recording failed');
    recording.status = 'failed';
    if (refuse) recording.live?.end({ reason: 'recording failed', exitCode: null, code: 'OUTPOST_E_RECORDING_FAILED' });
  };
  try {
    recording.recorder = CastRecorder.open(
      join(d.options.dataDir, recordingFile),
      { cols: req.cols, rows: req.rows, startedAt, title: `${req.actor.email} on ${req.agentId}` },
      onRecordingFail,
    );
  } catch (err) {
    d.logger.error({ err, sessionId: id }, 'cannot start the session recording');
    recording.status = 'failed';
    if (refuse) {
      await d.audit.record({
        ...auditBase,
        sessionId: id,
        type: 'shell.open',
        code: 'OUTPOST_E_RECORDING_FAILED',
        result: 'failure',
      });
      throw err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_RECORDING_FAILED', { cause: err });
    }
  }
  return recording;
}

/**
 * Sends `shell.open` on a new channel and waits for the agent's answer naming the session, a refusal after
 * `openTimeoutMs` without one, or the technician's socket closing first.
 */
async function askAgent(
  d: ShellDeps,
  conn: AgentLink,
  req: OpenRequest,
  id: string,
  startedAt: number,
  ws: WebSocket,
): Promise<{ channel: number; reply: ChannelReply | 'closed' }> {
  let answer!: (m: ChannelReply) => void;
  const replied = new Promise<ChannelReply>((resolve) => {
    answer = resolve;
  });
  const channel = d.relay.allocate(conn, { sessionId: id, resolve: (m) => answer(m) });
  conn.send({
    type: 'shell.open',
    id,
    expiresAt: startedAt + d.options.openTimeoutMs,
    sessionId: id,
    channel,
    ticket: d.ticket(req.agentId, id, req.actor, [req.elevated ? 'shell.elevated' : 'shell']),
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
    d.options.openTimeoutMs,
  );
  const wsClosed = new Promise<'closed'>((resolve) => ws.once('close', () => resolve('closed')));
  const reply = await Promise.race([replied, wsClosed]);
  clearTimeout(timer);
  return { channel, reply };
}

/**
 * An opening that did not open (refused, no answer, technician gone): the channel is freed, the header-only
 * recording removed, the row finished as refused or failed, the failure audited, and a coded error thrown.
 */
async function abandon(
  d: ShellDeps,
  conn: AgentLink,
  req: OpenRequest,
  o: { id: string; channel: number; reply: ChannelReply | 'closed'; recording: Recording; auditBase: AuditBase },
): Promise<never> {
  const { id, channel, reply, recording } = o;
  d.relay.release(conn, channel);
  const refusal = reply !== 'closed' && reply.type === 'shell.refused' ? reply : undefined;
  const code = reply === 'closed' ? 'OUTPOST_E_SESSION_ENDED' : (refusal?.code ?? 'OUTPOST_E_INTERNAL');
  const message =
    reply === 'closed' ? 'technician left before the session opened' : (refusal?.message ?? 'unexpected reply');
  if (reply !== 'closed') conn.send({ type: 'shell.close', channel, reason: 'open abandoned' });
  // Nothing ran: the header-only recording is removed and the row says so (it used to stay 'recording').
  await recording.recorder?.close();
  if (recording.recorder) await rm(recording.recorder.path, { force: true }).catch(() => undefined);
  // No answer (timeout, agent gone) or a technician who left is a failure; an answer is the agent's refusal.
  const refused = refusal !== undefined && code !== 'OUTPOST_E_AGENT_OFFLINE';
  await d.store.finish(id, {
    endedAt: d.clock.now(),
    exitCode: null,
    closeReason: `refused: ${message}`,
    outcome: refused ? 'refused' : 'failed',
    outcomeCode: code,
    recordingStatus: recording.status === 'failed' ? 'failed' : 'none',
    recordingBytes: null,
    bytesOut: 0,
    bytesIn: 0,
  });
  await d.audit.record({
    ...o.auditBase,
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

/** A shell ended: its channel freed, pending resize audited, recording closed, row finished, close audited. */
async function finishShell(
  d: ShellDeps,
  s: LiveShell,
  info: EndInfo,
  status: () => SessionRecord['recordingStatus'],
): Promise<void> {
  d.live.delete(s.id);
  d.relay.release(s.agent, s.channel);
  await d
    .flushResize(s)
    .catch((err: unknown) => d.logger.warn({ err, sessionId: s.id }, 'session resize not recorded'));
  let bytes: number | null = null;
  if (s.recorder) bytes = await s.recorder.close();
  const recordingStatus = status() === 'recording' ? 'ok' : status();
  // Stored for the other nodes before the row says it is finished: a node asked for it then finds it.
  if (s.recorder && d.recordings && (recordingStatus === 'ok' || recordingStatus === 'truncated'))
    await d.recordings
      .put(relative(d.options.dataDir, s.recorder.path))
      .catch((err: unknown) => d.logger.warn({ err, sessionId: s.id }, 'recording not stored for the other nodes'));
  await d.store.finish(s.id, {
    endedAt: d.clock.now(),
    exitCode: info.exitCode,
    closeReason: info.reason,
    outcome: outcomeOf(info.code),
    outcomeCode: info.code ?? null,
    recordingStatus,
    recordingBytes: bytes,
    bytesOut: s.bytesOut,
    bytesIn: s.bytesIn,
  });
  const rec = await d.store.get(s.id);
  await d.audit
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
    .catch((err: unknown) => d.logger.error({ err }, 'audit of session close failed'));
}
