/**
 * An incident's timeline in words for `outpost incidents show`: one line per entry (time, who, what happened, the
 * key details) instead of the stored JSON. Values are returned as they are; output.ts makes them safe to print.
 */

type Row = Record<string, unknown>;

const str = (v: unknown): string => (v === null || v === undefined || v === '' ? '' : String(v));
const reason = (d: Row) => (str(d.reason) ? `: ${str(d.reason)}` : '');
const minutes = (ms: unknown) => (typeof ms === 'number' ? `${Math.round(ms / 60_000)} min` : '');
const machines = (ids: unknown) => (Array.isArray(ids) && ids.length ? ` on ${ids.join(', ')}` : '');

/** What one timeline entry says, as a sentence; `names` turns user ids into names where they are known. */
export function describeEvent(kind: string, data: Row, names: Record<string, string> = {}): string {
  const who = (v: unknown) => names[str(v)] ?? str(v);
  switch (kind) {
    case 'opened':
      return `opened (${[str(data.criticality), data.tier ? `tier ${str(data.tier)}` : '', str(data.source), str(data.rule)].filter(Boolean).join(', ')})${str(data.title) ? `: ${str(data.title)}` : ''}${str(data.slaError) ? `; no SLA: ${str(data.slaError)}` : ''}`;
    case 'detection': {
      const extra = Object.entries(data)
        .filter(([k]) => k !== 'title' && k !== 'agentIds')
        .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : str(v)}`);
      return `detected again${machines(data.agentIds)}${str(data.title) ? `: ${str(data.title)}` : ''}${extra.length ? ` (${extra.join(', ')})` : ''}`;
    }
    case 'condition_clear':
      return `the condition cleared${str(data.note) ? `: ${str(data.note)}` : ''}`;
    case 'acknowledged':
      return 'acknowledged';
    case 'assigned':
      return data.reason === 'taken'
        ? `taken by ${who(data.to)}`
        : `assigned to ${who(data.to) || 'nobody'}${str(data.from) ? ` (was ${who(data.from)})` : ''}${reason(data)}`;
    case 'comment':
      // Technicians see who a comment is for: the requester's own, or one shown to them (docs/0014-requests.md).
      return `${data.requester ? 'requester ' : data.public ? 'public ' : ''}comment: ${str(data.text)}`;
    case 'escalated':
      return `escalated from tier ${str(data.fromTier)} to tier ${str(data.toTier)}${data.level !== undefined ? ` (level ${str(data.level)})` : ''}${reason(data)}`;
    case 'deescalated':
      return `moved back from tier ${str(data.fromTier)} to tier ${str(data.toTier)}${reason(data)}`;
    case 'paused':
      return `paused, waiting on the customer${reason(data)}`;
    case 'resumed':
      return 'resumed: the SLA clock runs again';
    case 'sla_warning':
      return `SLA ${str(data.clock) || 'target'} due soon`;
    case 'sla_breach':
      return `SLA ${str(data.clock) || 'target'} BREACHED${data.escalated ? ', escalated' : ''}`;
    case 'resolved':
      return `resolved [${str(data.category)}]${str(data.note) ? `: ${str(data.note)}` : ''}${typeof data.resolutionMs === 'number' ? ` (after ${minutes(data.resolutionMs)})` : ''}`;
    case 'closed':
      return data.auto ? 'closed automatically' : 'closed';
    case 'reopened':
      return `reopened (was ${str(data.from)}${data.reopenCount !== undefined ? `, reopen #${str(data.reopenCount)}` : ''})${reason(data)}`;
    case 'session':
      return `${str(data.kind) === 'shell' ? 'remote shell' : `file ${str(data.kind)}`} opened by ${str(data.user)}${str(data.agentId) ? ` on ${str(data.agentId)}` : ''} (session ${str(data.sessionId)})`;
    case 'notification':
      return `notified: ${str(data.event) || 'event'} sent to ${str(data.channel) || str(data.channelId)}${str(data.kind) ? ` (${str(data.kind)})` : ''}`;
    default:
      return `${kind.replaceAll('_', ' ')}${
        Object.keys(data).length
          ? ` (${Object.entries(data)
              .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : str(v)}`)
              .join(', ')})`
          : ''
      }`;
  }
}
