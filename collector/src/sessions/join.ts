/** Read-only joins: a second technician watches a live shell; the join is audited and the watcher told it is ready. */
import { OutpostError } from '@outpost/shared';
import type { WebSocket } from 'ws';
import type { AuditLog } from '../audit/index.js';
import { actorRef } from '../auth/index.js';
import type { LiveShell } from './live.js';
import type { SessionsStore } from './store.js';
import type { OpenRequest } from './types.js';

/** Adds a read-only joiner to a live session; throws OUTPOST_E_SESSION_ENDED when it is not live. */
export async function joinReadOnly(
  d: {
    live: ReadonlyMap<string, LiveShell>;
    store: SessionsStore;
    audit: AuditLog;
    /** Follows the joiner's socket (so a disabled user's joins are cut too). */
    track(ws: WebSocket): void;
  },
  sessionId: string,
  actor: OpenRequest['actor'],
  ws: WebSocket,
  ip: string,
): Promise<LiveShell> {
  const s = d.live.get(sessionId);
  if (!s) throw new OutpostError('OUTPOST_E_SESSION_ENDED', { message: `session ${sessionId} is not live` });
  d.track(ws);
  s.joiners.add(ws);
  ws.on('close', () => s.joiners.delete(ws));
  const rec = await d.store.get(sessionId);
  await d.audit.record({
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
