/**
 * The console's live channel: one EventSource on `/api/v1/live` (same origin, the session cookie) for the whole
 * app. Pages read signals: `presence` (the latest status pushed per agent) and `incidentsChanged` (a counter bumped on
 * every ticket change, so the queue re-reads itself). EventSource reconnects by itself after a drop; `liveState`
 * says whether the stream is open, and pages poll as before while it is not.
 */
import { signal } from '@preact/signals';

/** Status pushed per agent since the stream opened (overrides the status of rows already loaded). */
export const presence = signal<ReadonlyMap<string, { status: 'online' | 'offline'; at: number }>>(new Map());
/** Bumped on every incident change the user may see. */
export const incidentsChanged = signal(0);
/** Whether the live stream is open. */
export const liveState = signal<'off' | 'connecting' | 'open'>('off');

let source: EventSource | undefined;

interface PresenceEvent {
  agentId: string;
  status: 'online' | 'offline';
  at: number;
}

function parse(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(data);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Opens the stream (once; after login or a restored session). */
export function startLive(): void {
  if (source) return;
  liveState.value = 'connecting';
  source = new EventSource('/api/v1/live');
  source.onopen = () => {
    // After a gap, events may have been missed: forget the pushed states; the pages re-read when the stream opens.
    presence.value = new Map();
    liveState.value = 'open';
  };
  source.onerror = () => {
    // EventSource retries by itself (the server asks for 2 s); the pages poll meanwhile.
    liveState.value = source?.readyState === EventSource.CLOSED ? 'off' : 'connecting';
  };
  source.addEventListener('agent.presence', (e) => {
    const d = parse((e as MessageEvent).data);
    if (!d || typeof d.agentId !== 'string' || (d.status !== 'online' && d.status !== 'offline')) return;
    const ev = d as unknown as PresenceEvent;
    const next = new Map(presence.value);
    next.set(ev.agentId, { status: ev.status, at: typeof ev.at === 'number' ? ev.at : Date.now() });
    presence.value = next;
  });
  source.addEventListener('incident.changed', () => {
    incidentsChanged.value++;
  });
}

/** Closes the stream (logout). */
export function stopLive(): void {
  source?.close();
  source = undefined;
  liveState.value = 'off';
  presence.value = new Map();
}
