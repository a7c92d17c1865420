/**
 * Opening and finishing file transfers: a session row (kind upload/download, the path, the agent's SHA-256), a
 * single-use `file.read`/`file.write` ticket in `file.open`, the agent's answer awaited, and one audit row per
 * transfer (`file.upload` / `file.download`, success or failure with the code).
 */
import { randomBytes } from 'node:crypto';
import { OutpostError, type TicketCapability } from '@outpost/shared';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AgentLink } from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import { actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import { type Direction, LiveTransfer, type TransferEnd } from './live-transfer.js';
import { outcomeOf, type SessionOutcome } from './outcome.js';
import type { SessionsStore } from './store.js';
import type { OpenRequest } from './types.js';

/** Who transfers what, where. */
export interface TransferRequest extends Omit<OpenRequest, 'cols' | 'rows' | 'elevated'> {
  direction: Direction;
  path: string;
  /** Download: resume from this byte; upload without `resume`: write from here. */
  offset: number;
  /** Upload: the whole file's size. */
  size: number;
  /** Upload: keep what the agent already holds. */
  resume: boolean;
  /** Upload: SHA-256 (hex) of the whole local file, checked against the agent's at the end. */
  sha256?: string | undefined;
}

/** What opening a transfer needs from the sessions service. */
export interface TransferDeps {
  /** The agent's socket here, or a link to the node holding it; undefined when no node does. */
  link(agentId: string, kind: 'shell' | 'file'): Promise<AgentLink | undefined>;
  store: SessionsStore;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  openTimeoutMs: number;
  /** Largest file the collector relays either way. */
  fileMaxBytes: number;
  transfers: Map<string, LiveTransfer>;
  ticket(agentId: string, sessionId: string, actor: OpenRequest['actor'], caps: TicketCapability[]): string;
  allocate(conn: AgentLink, peer: LiveTransfer): number;
  release(conn: AgentLink, channel: number): void;
  /** Keeps a finishing promise so `stop()` can wait for it. */
  track(p: Promise<void>): void;
}

/** The audit fields every row of one transfer shares. */
type AuditBase = ReturnType<typeof auditBaseOf>;

/** The audit fields of a transfer, from its request. */
function auditBaseOf(req: TransferRequest) {
  return {
    type: req.direction === 'upload' ? 'file.upload' : 'file.download',
    actor: actorRef(req.actor),
    clientId: req.clientId,
    agentId: req.agentId,
    resource: `agent:${req.agentId}`,
    remoteIp: req.ip,
  };
}

/** What a transfer learns while it runs: where it really started, and why it never opened (if so). */
interface TransferProgress {
  offset: number;
  /** Set when the transfer never opened: refused by the agent, or failed (no answer, technician gone). */
  openOutcome: SessionOutcome | undefined;
}

/**
 * Opens a transfer for a technician socket; resolves once the agent opened the file (or throws its refusal).
 * `created` gets the transfer at once, before `transfer.ready` can reach the technician: its frames go to the
 * transfer from then on (it drops those before it runs), never lost while this promise and its callers finish.
 */
export async function openTransfer(
  d: TransferDeps,
  req: TransferRequest,
  ws: WebSocket,
  created: (t: LiveTransfer) => void = () => undefined,
): Promise<LiveTransfer> {
  const auditBase = auditBaseOf(req);
  const details = { path: req.path, offset: req.offset, size: req.size, resume: req.resume };
  const conn = await admit(d, req, auditBase, details);
  const id = `ss_${randomBytes(12).toString('hex')}`;
  const startedAt = d.clock.now();
  await insertRow(d, req, id, startedAt);

  const progress: TransferProgress = { offset: req.offset, openOutcome: undefined };
  const requested = { offset: req.offset, size: req.size };
  const t = new LiveTransfer({
    id,
    agent: conn,
    tech: ws,
    direction: req.direction,
    startedAt,
    requested,
    expectedSha256: req.sha256,
    clock: d.clock,
    onEnd: (tr, info) => {
      const p = finish(d, conn, req, tr, info, { auditBase, details, progress }).catch((err: unknown) =>
        d.logger.error({ err, sessionId: tr.id }, 'cannot finish the transfer row'),
      );
      d.track(p);
    },
  });
  t.channel = d.allocate(conn, t);
  created(t);
  sendOpen(d, conn, req, t, startedAt);
  return awaitOpen(d, req, ws, t, progress);
}

/** Refuses, audited, an upload over the collector's limit or an agent not connected; else its connection. */
async function admit(
  d: TransferDeps,
  req: TransferRequest,
  auditBase: AuditBase,
  details: Record<string, unknown>,
): Promise<AgentLink> {
  if (req.direction === 'upload' && req.size > d.fileMaxBytes) {
    await d.audit.record({ ...auditBase, code: 'OUTPOST_E_PAYLOAD_TOO_LARGE', result: 'failure', details });
    throw new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', {
      message: `upload of ${req.size} bytes is over the collector limit of ${d.fileMaxBytes}`,
    });
  }
  const conn = await d.link(req.agentId, 'file');
  if (!conn) {
    await d.audit.record({ ...auditBase, code: 'OUTPOST_E_AGENT_OFFLINE', result: 'failure', details });
    throw new OutpostError('OUTPOST_E_AGENT_OFFLINE');
  }
  return conn;
}

/** The transfer's session row, written before the agent is asked. */
async function insertRow(d: TransferDeps, req: TransferRequest, id: string, startedAt: number): Promise<void> {
  await d.store.insert({
    id,
    kind: req.direction,
    agentId: req.agentId,
    clientId: req.clientId,
    siteId: req.siteId,
    userId: req.actor.id,
    userEmail: req.actor.email,
    elevated: false,
    path: req.path,
    startedAt,
    endedAt: null,
    exitCode: null,
    closeReason: null,
    cols: null,
    rows: null,
    recordingFile: null,
    recordingBytes: null,
    recordingStatus: 'none',
    bytesOut: 0,
    bytesIn: 0,
    sha256: null,
  });
}

/** Ends a transfer: its row finished with the outcome and bytes, and one audit row with the code. */
async function finish(
  d: TransferDeps,
  conn: AgentLink,
  req: TransferRequest,
  t: LiveTransfer,
  info: TransferEnd,
  run: { auditBase: AuditBase; details: Record<string, unknown>; progress: TransferProgress },
): Promise<void> {
  d.transfers.delete(t.id);
  d.release(conn, t.channel);
  await d.store.finish(t.id, {
    endedAt: d.clock.now(),
    exitCode: null,
    closeReason: info.reason,
    outcome: run.progress.openOutcome ?? outcomeOf(info.code),
    outcomeCode: info.code ?? null,
    recordingStatus: 'none',
    recordingBytes: null,
    bytesOut: req.direction === 'download' ? t.bytes : 0,
    bytesIn: req.direction === 'upload' ? t.bytes : 0,
    sha256: info.sha256 ?? null,
  });
  await d.audit.record({
    ...run.auditBase,
    sessionId: t.id,
    code: info.code ?? 'OK',
    result: info.code ? 'failure' : 'success',
    details: {
      ...run.details,
      offset: run.progress.offset,
      bytes: t.bytes,
      sha256: info.sha256 ?? null,
      reason: info.reason,
    },
  });
}

/** Asks the agent to open the file, with a single-use ticket for exactly this transfer. */
function sendOpen(d: TransferDeps, conn: AgentLink, req: TransferRequest, t: LiveTransfer, startedAt: number): void {
  const id = t.id;
  conn.send({
    type: 'file.open',
    id,
    expiresAt: startedAt + d.openTimeoutMs,
    sessionId: id,
    channel: t.channel,
    ticket: d.ticket(req.agentId, id, req.actor, [req.direction === 'upload' ? 'file.write' : 'file.read']),
    direction: req.direction,
    path: req.path,
    offset: req.offset,
    size: req.direction === 'upload' ? req.size : d.fileMaxBytes,
    ...(req.resume && req.direction === 'upload' ? { resume: true } : {}),
  });
}

/** Waits for the agent's answer (bounded; the technician leaving ends the wait); a refusal ends the transfer. */
async function awaitOpen(
  d: TransferDeps,
  req: TransferRequest,
  ws: WebSocket,
  t: LiveTransfer,
  progress: TransferProgress,
): Promise<LiveTransfer> {
  const timer = setTimeout(
    () => t.refuseOpen(new OutpostError('OUTPOST_E_AGENT_OFFLINE', { message: 'no answer from the agent' })),
    d.openTimeoutMs,
  );
  const onEarlyClose = () =>
    t.refuseOpen(
      new OutpostError('OUTPOST_E_SESSION_ENDED', { message: 'technician left before the transfer opened' }),
    );
  ws.once('close', onEarlyClose);
  try {
    const opened = await t.opened;
    if (req.direction === 'upload') progress.offset = opened.size;
    ws.off('close', onEarlyClose);
    d.transfers.set(t.id, t);
    ws.on('close', () => t.end({ reason: 'technician disconnected', exitCode: null, code: 'OUTPOST_E_SESSION_ENDED' }));
    return t;
  } catch (err) {
    const e = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
    // The agent refused by itself; otherwise tell it to drop the channel should its answer come late.
    const agentRefused = e.details?.agentCode !== undefined;
    progress.openOutcome = agentRefused ? 'refused' : 'failed';
    t.end({ reason: `refused: ${e.message}`, exitCode: null, code: e.code }, !agentRefused);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
