/**
 * The console's only way to the API: same-origin fetch with the session cookie, the CSRF header on every change,
 * coded errors thrown as `ApiError`. Components call the typed functions at the bottom, never `fetch` directly.
 */
import { signal } from '@preact/signals';
import type {
  AgentPage,
  ApiErrorBody,
  Incident,
  IncidentPage,
  InventoryAnswer,
  LoginAnswer,
  MetricsAnswer,
  SessionRecord,
  TimelineEntry,
  User,
} from './types.js';

/** The session's CSRF token (from the login answer, or `GET /api/v1/auth/csrf` after a reload); memory only. */
export const csrfToken = signal<string | null>(null);

/** A refusal from the API, with its catalogue code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint = '',
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === '') continue;
    if (Array.isArray(v)) for (const item of v) qs.append(k, item);
    else qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/** Calls the API; JSON in, JSON out. */
export async function api<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken.value) headers['x-outpost-csrf'] = csrfToken.value;
  const res = await fetch(withQuery(path, opts.query), {
    method,
    headers,
    credentials: 'same-origin',
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(res.status, 'OUTPOST_E_INTERNAL', `The collector answered ${res.status} with no JSON`);
  }
  if (!res.ok) {
    const e = (data as Partial<ApiErrorBody> | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? 'OUTPOST_E_INTERNAL', e?.message ?? `HTTP ${res.status}`, e?.hint ?? '');
  }
  return data as T;
}

/** Reads a text resource of the API (a session recording): same cookie, same coded errors. */
export async function apiText(path: string): Promise<string> {
  const res = await fetch(path, { credentials: 'same-origin' });
  const text = await res.text();
  if (!res.ok) {
    let e: ApiErrorBody['error'] | undefined;
    try {
      e = (JSON.parse(text) as Partial<ApiErrorBody>).error;
    } catch {
      // not JSON: the status says it
    }
    throw new ApiError(res.status, e?.code ?? 'OUTPOST_E_INTERNAL', e?.message ?? `HTTP ${res.status}`, e?.hint ?? '');
  }
  return text;
}

/** Fleet filters and paging, as `GET /api/v1/agents` takes them. */
export interface FleetQuery {
  clientId?: string;
  siteId?: string;
  status?: string;
  os?: string;
  search?: string;
  sort?: string;
  order?: 'asc' | 'desc';
  limit: number;
  offset: number;
}

export const Api = {
  login: (body: { email: string; password: string; totp?: string }) =>
    api<LoginAnswer>('POST', '/api/v1/auth/login', { body }),
  logout: () => api<{ ok: true }>('POST', '/api/v1/auth/logout', { body: {} }),
  me: () => api<User>('GET', '/api/v1/auth/me'),
  csrf: () => api<{ csrfToken: string }>('GET', '/api/v1/auth/csrf'),
  agents: (q: FleetQuery) => api<AgentPage>('GET', '/api/v1/agents', { query: { ...q } }),
  agent: (id: string) => api<AgentPage['agents'][number]>('GET', `/api/v1/agents/${encodeURIComponent(id)}`),
  clients: () => api<{ clients: { id: string; name: string }[] }>('GET', '/api/v1/clients'),
  sites: (clientId: string) =>
    api<{ sites: { id: string; name: string }[] }>('GET', `/api/v1/clients/${encodeURIComponent(clientId)}/sites`),
  metrics: (id: string, since: number) =>
    api<MetricsAnswer>('GET', `/api/v1/agents/${encodeURIComponent(id)}/metrics`, { query: { since } }),
  inventory: (id: string, probe: string) =>
    api<InventoryAnswer>('GET', `/api/v1/agents/${encodeURIComponent(id)}/inventory`, { query: { probe } }),
  incidents: (q: { status?: string[]; agentId?: string; tier?: number; criticality?: string; limit?: number }) =>
    api<IncidentPage>('GET', '/api/v1/incidents', { query: { ...q, limit: q.limit ?? 200 } }),
  sessions: (agentId: string) =>
    api<{ sessions: SessionRecord[] }>('GET', '/api/v1/sessions', { query: { agentId, limit: 50 } }),
  recording: (id: string) => apiText(`/api/v1/sessions/${encodeURIComponent(id)}/recording`),
  totpSetup: (password: string, totp?: string) =>
    api<{ secret: string; uri: string }>('POST', '/api/v1/auth/totp/setup', {
      body: { password, ...(totp ? { totp } : {}) },
    }),
  totpEnable: (code: string) => api<{ ok: true }>('POST', '/api/v1/auth/totp/enable', { body: { code } }),
  incident: (id: string) =>
    api<{ incident: Incident; timeline: TimelineEntry[] }>('GET', `/api/v1/incidents/${encodeURIComponent(id)}`),
  comment: (id: string, text: string) =>
    api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/comment`, { body: { text } }),
  ack: (id: string) => api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/ack`, { body: {} }),
  resolve: (id: string, note: string, category: string) =>
    api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/resolve`, { body: { note, category } }),
};
