/**
 * The console's only way to the API: same-origin fetch with the session cookie, the CSRF header on every change,
 * coded errors thrown as `ApiError`. Components call the typed functions at the bottom, never `fetch` directly.
 */
import { signal } from '@preact/signals';
import type {
  AdminUser,
  AgentPage,
  ApiErrorBody,
  ApiTokenInfo,
  CalendarInfo,
  ChannelInfo,
  Client,
  ContractInfo,
  EnrollmentTokenInfo,
  Incident,
  IncidentPage,
  InstallersAnswer,
  InventoryAnswer,
  InventoryChange,
  JobSpec,
  JobSummary,
  JobView,
  LoginAnswer,
  MetricsAnswer,
  ReleaseInfo,
  RequestView,
  RouteInfo,
  ScriptInfo,
  SessionRecord,
  Site,
  TimelineEntry,
  UpdateStatus,
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
  tag?: string;
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
  incidents: (q: {
    status?: string[];
    agentId?: string;
    tier?: number;
    criticality?: string;
    clientId?: string;
    breached?: boolean;
    limit?: number;
  }) => api<IncidentPage>('GET', '/api/v1/incidents', { query: { ...q, limit: q.limit ?? 200 } }),
  sessions: (agentId: string) =>
    api<{ sessions: SessionRecord[] }>('GET', '/api/v1/sessions', { query: { agentId, limit: 50 } }),
  recording: (id: string) => apiText(`/api/v1/sessions/${encodeURIComponent(id)}/recording`),
  totpSetup: (password: string, totp?: string) =>
    api<{ secret: string; uri: string }>('POST', '/api/v1/auth/totp/setup', {
      body: { password, ...(totp ? { totp } : {}) },
    }),
  totpEnable: (code: string) => api<{ ok: true }>('POST', '/api/v1/auth/totp/enable', { body: { code } }),
  incidentRequest: (id: string) => api<RequestView>('GET', `/api/v1/incidents/${encodeURIComponent(id)}/request`),
  incident: (id: string) =>
    api<{ incident: Incident; timeline: TimelineEntry[]; names: Record<string, string> }>(
      'GET',
      `/api/v1/incidents/${encodeURIComponent(id)}`,
    ),
  /** `forRequester`: shown on the requester's self-service page (otherwise internal). */
  comment: (id: string, text: string, forRequester = false) =>
    api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/comment`, {
      body: { text, ...(forRequester ? { public: true } : {}) },
    }),
  ack: (id: string) => api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/ack`, { body: {} }),
  resolve: (id: string, note: string, category: string) =>
    api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/resolve`, { body: { note, category } }),
  take: (id: string) => api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/take`, { body: {} }),
  assign: (id: string, userId: string) =>
    api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/assign`, { body: { userId } }),
  escalate: (id: string, reason: string) =>
    api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/escalate`, { body: { reason } }),
  deescalate: (id: string, reason: string) =>
    api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/deescalate`, { body: { reason } }),
  pause: (id: string, reason: string) =>
    api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/pause`, { body: { reason } }),
  resume: (id: string) => api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/resume`, { body: {} }),
  close: (id: string) => api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/close`, { body: {} }),
  reopen: (id: string, reason: string) =>
    api<Incident>('POST', `/api/v1/incidents/${encodeURIComponent(id)}/reopen`, { body: { reason } }),

  history: (id: string, from: number) =>
    api<{ changes: InventoryChange[] }>('GET', `/api/v1/agents/${encodeURIComponent(id)}/inventory/history`, {
      query: { from, limit: 1000 },
    }),
  machineJobs: (agentId: string) =>
    api<{ jobs: JobSummary[] }>('GET', '/api/v1/jobs', { query: { agentId, limit: 100 } }),
  machineUpdates: (id: string) =>
    api<{ statuses: UpdateStatus[] }>('GET', `/api/v1/agents/${encodeURIComponent(id)}/updates`),

  // Bulk actions on machines (the fleet page's selection).
  scripts: () => api<{ scripts: ScriptInfo[] }>('GET', '/api/v1/scripts'),
  runJob: (spec: JobSpec, agentIds: string[]) =>
    api<JobView>('POST', '/api/v1/jobs', { body: { spec, target: { agentIds } } }),
  job: (id: string) => api<JobView>('GET', `/api/v1/jobs/${encodeURIComponent(id)}`),
  releases: () => api<{ releases: ReleaseInfo[] }>('GET', '/api/v1/releases'),
  assignUpdate: (agentId: string, version: string) =>
    api<{ assignmentId: string; version: string; sent: boolean }>(
      'POST',
      `/api/v1/agents/${encodeURIComponent(agentId)}/update`,
      { body: { version } },
    ),

  // Administration (each call is authorised by the collector; the pages only show what the role may use).
  users: () => api<{ users: AdminUser[] }>('GET', '/api/v1/users', { query: { limit: 500 } }),
  createUser: (body: {
    email: string;
    name: string;
    password: string;
    roles: { role: string; clientId: string | null }[];
  }) => api<AdminUser>('POST', '/api/v1/users', { body }),
  setUserDisabled: (id: string, disabled: boolean) =>
    api<AdminUser>('POST', `/api/v1/users/${encodeURIComponent(id)}/${disabled ? 'disable' : 'enable'}`, { body: {} }),
  apiTokens: () => api<{ tokens: ApiTokenInfo[] }>('GET', '/api/v1/auth/api-tokens'),
  createApiToken: (name: string, expiresInDays?: number) =>
    api<{ token: string; info: ApiTokenInfo }>('POST', '/api/v1/auth/api-tokens', {
      body: { name, ...(expiresInDays ? { expiresInDays } : {}) },
    }),
  revokeApiToken: (id: string) => api<{ ok: true }>('DELETE', `/api/v1/auth/api-tokens/${encodeURIComponent(id)}`),
  createClient: (name: string) => api<Client>('POST', '/api/v1/clients', { body: { name } }),
  createSite: (clientId: string, name: string, timezone: string) =>
    api<Site>('POST', `/api/v1/clients/${encodeURIComponent(clientId)}/sites`, { body: { name, timezone } }),
  enrollmentTokens: () => api<{ tokens: EnrollmentTokenInfo[] }>('GET', '/api/v1/enrollment-tokens'),
  revokeEnrollmentToken: (id: string) =>
    api<EnrollmentTokenInfo>('POST', `/api/v1/enrollment-tokens/${encodeURIComponent(id)}/revoke`, { body: {} }),
  createInstallers: (body: { siteId: string; expiresInHours: number; maxUses: number }) =>
    api<InstallersAnswer>('POST', '/api/v1/installers', { body }),
  channels: () => api<{ channels: ChannelInfo[] }>('GET', '/api/v1/notifications/channels'),
  createChannel: (body: { kind: string; name: string; clientId: string | null; url: string }) =>
    api<{ channel: ChannelInfo; secret?: string }>('POST', '/api/v1/notifications/channels', { body }),
  setUserRoles: (id: string, roles: { role: string; clientId: string | null }[]) =>
    api<AdminUser>('PUT', `/api/v1/users/${encodeURIComponent(id)}/roles`, { body: { roles } }),
  calendars: () => api<{ calendars: CalendarInfo[] }>('GET', '/api/v1/calendars'),
  saveCalendar: (id: string | null, body: Omit<CalendarInfo, 'id'>) =>
    id === null
      ? api<CalendarInfo>('POST', '/api/v1/calendars', { body })
      : api<CalendarInfo>('PUT', `/api/v1/calendars/${encodeURIComponent(id)}`, { body }),
  contract: (clientId: string) => api<ContractInfo>('GET', `/api/v1/clients/${encodeURIComponent(clientId)}/contract`),
  setContract: (clientId: string, body: Pick<ContractInfo, 'name' | 'calendarId' | 'targets'>) =>
    api<ContractInfo>('PUT', `/api/v1/clients/${encodeURIComponent(clientId)}/contract`, { body }),
  routes: () => api<{ routes: RouteInfo[] }>('GET', '/api/v1/notifications/routes'),
  createRoute: (body: {
    channelId: string;
    clientId?: string | null;
    minCriticality: string;
    onCall: boolean;
    outsideCoverageOnly: boolean;
  }) => api<RouteInfo>('POST', '/api/v1/notifications/routes', { body }),
  deleteRoute: (id: string) => api<{ ok: true }>('DELETE', `/api/v1/notifications/routes/${encodeURIComponent(id)}`),
  deleteChannel: (id: string) =>
    api<{ ok: true }>('DELETE', `/api/v1/notifications/channels/${encodeURIComponent(id)}`),
};
