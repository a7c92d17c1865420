/**
 * Ending the sessions a previous run of the collector left open (killed by SIGKILL or a power loss while a shell or
 * transfer ran): their rows said "recording" for ever with the recording unreachable.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../config.js';
import { salvageCast } from './recorder.js';
import type { SessionRecord, SessionsStore } from './store.js';
import type { RecordingShare } from './types.js';

/** What recovery reads and writes. */
export interface RecoveryDeps {
  /** This node (its rows are the ones `isLive` speaks for). */
  node: string;
  store: SessionsStore;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  /** True for a session this run already holds (never an orphan). */
  isLive(sessionId: string): boolean;
  /** Finished recordings kept for every node (several nodes, one data directory each). */
  recordings?: RecordingShare | undefined;
}

/** This node's own orphans: every unfinished row it wrote that it does not hold (alone, every unfinished row). */
export async function recoverOwnOrphans(d: RecoveryDeps, alone: boolean): Promise<number> {
  const rows = await d.store.unfinished(alone ? undefined : [d.node]);
  return endOrphans(
    d,
    rows.filter((r) => !d.isLive(r.id)),
  );
}

/**
 * The orphans of nodes that are gone: unfinished rows of any node other than this one that is not in `live` (the
 * nodes heard on the bus over a full presence TTL), and rows written before nodes were recorded. A live node's rows
 * are never touched. Several nodes may do this at once: each row is ended (and audited) by one of them.
 */
export async function recoverGoneNodes(d: RecoveryDeps, live: ReadonlySet<string>): Promise<number> {
  const gone = (await d.store.unfinishedNodes()).filter((n) => n !== d.node && (n === null || !live.has(n)));
  if (gone.length === 0) return 0;
  d.logger.info({ nodes: gone }, 'ending the sessions of collector nodes that are gone');
  return endOrphans(d, await d.store.unfinished(gone));
}

/**
 * Each orphan is ended with outcome `ended`, code OUTPOST_E_UNAVAILABLE and reason "collector restarted" (the agent
 * already ended its side when the socket dropped), its recording salvaged up to the last complete event
 * (`truncated`; `failed` if nothing could be read), and a close row is audited by the node whose write ended it.
 * This node's rows are read before any new session can open here, so only orphans are touched.
 */
async function endOrphans(d: RecoveryDeps, rows: SessionRecord[]): Promise<number> {
  let ended = 0;
  for (const r of rows) {
    const { endedAt, recordingStatus, recordingBytes, events } = salvage(d, r);
    // What was salvaged here is stored for the other nodes before the row says it is finished, as a clean end does
    // (a node restarting finds its own orphans' recordings on its own disk; a gone node's are not on this one).
    if (recordingStatus === 'truncated' && r.recordingFile && d.recordings)
      await d.recordings
        .put(r.recordingFile)
        .catch((err: unknown) => d.logger.warn({ err, sessionId: r.id }, 'recording not stored for the other nodes'));
    const reason = 'collector restarted';
    const won = await d.store.finish(r.id, {
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
    if (!won) continue; // another node ended it first
    ended++;
    await d.audit.record({
      type: r.kind === 'shell' ? 'shell.close' : r.kind === 'upload' ? 'file.upload' : 'file.download',
      code: 'OUTPOST_E_UNAVAILABLE',
      result: 'failure',
      actor: { kind: 'user', id: r.userId, name: r.userEmail },
      clientId: r.clientId,
      agentId: r.agentId,
      sessionId: r.id,
      resource: `agent:${r.agentId}`,
      details: { reason, recording: recordingStatus, events },
    });
    d.logger.warn(
      { sessionId: r.id, kind: r.kind, recording: recordingStatus, node: r.node },
      'ended a session orphaned by a collector restart',
    );
  }
  return ended;
}

/** What is left of an orphan's recording, and when the session really stopped. */
function salvage(
  d: RecoveryDeps,
  r: SessionRecord,
): {
  endedAt: number;
  recordingStatus: SessionRecord['recordingStatus'];
  recordingBytes: number | null;
  events: number | null;
} {
  const now = d.clock.now();
  if (!r.recordingFile || r.recordingStatus !== 'recording')
    return { endedAt: now, recordingStatus: r.recordingStatus, recordingBytes: null, events: null };
  const file = join(d.dataDir, r.recordingFile);
  const s = salvageCast(file);
  if (!s) {
    try {
      statSync(file);
      d.logger.warn({ sessionId: r.id, file }, 'the recording of an orphaned session is unreadable');
    } catch {
      d.logger.warn({ sessionId: r.id, file }, 'the recording of an orphaned session is missing');
    }
    return { endedAt: now, recordingStatus: 'failed', recordingBytes: null, events: null };
  }
  // The session stopped when its recording did, not when the collector came back.
  const endedAt = Math.min(now, Math.max(r.startedAt, r.startedAt + Math.round(s.lastT * 1000)));
  return { endedAt, recordingStatus: 'truncated', recordingBytes: s.bytes, events: s.events };
}
