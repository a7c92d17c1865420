/**
 * The shapes the console reads, as the collector's route response schemas declare them (the `routes.ts` of each collector concern
 * and `/api/docs`). Every string in them may come from an agent: render as text only.
 */

export interface User {
  id: string;
  email: string;
  name: string;
  roles: { role: string; clientId: string | null }[];
  totpEnabled: boolean;
}

export interface LoginAnswer {
  token: string;
  expiresAt: number;
  user: User;
  csrfToken: string;
}

export type AgentStatus = 'online' | 'offline' | 'revoked';

export interface Agent {
  id: string;
  clientId: string;
  siteId: string;
  hostname: string;
  os: { platform: string; distro: string; release: string; kernel: string; arch: string };
  cpu: { model: string; cores: number };
  memoryBytes: number;
  agentVersion: string;
  status: AgentStatus;
  enrolledAt: number;
  lastSeenAt: number | null;
  lastIp: string | null;
  revokedAt: number | null;
  /** Labels tier 2+ put on the machine (targets for jobs and rollouts). */
  tags: string[];
}

export interface AgentPage {
  agents: Agent[];
  total: number;
}

export interface Client {
  id: string;
  name: string;
}

export interface Site {
  id: string;
  clientId: string;
  name: string;
}

export interface SeriesPoint {
  t: number;
  avg: number;
  min: number;
  max: number;
  n: number;
}

export interface MetricsAnswer {
  agentId: string;
  from: number;
  to: number;
  resolution: string;
  resolutionMs: number;
  series: { metric: string; points: SeriesPoint[]; last: { t: number; value: number } | null }[];
}

export interface InventoryAnswer {
  device: { hostname: string; manufacturer: string; model: string; serial: string; virtual: boolean } | null;
  eol: { label: string | null; supportedUntil: number | null; endOfLife: boolean };
  probes: {
    probe: string;
    collectedAt: number;
    stale: boolean;
    errorCode: string | null;
    errorMessage: string | null;
    rows: Record<string, unknown>[];
  }[];
}

export interface Sla {
  responseTargetMs: number;
  resolutionTargetMs: number;
  /** Covered time the clock has consumed so far (frozen while paused). */
  consumedMs: number;
  running: boolean;
  responseDue: number | null;
  resolutionDue: number | null;
  responseBreachedAt: number | null;
  resolutionBreachedAt: number | null;
}

export interface Incident {
  id: string;
  clientId: string;
  siteId: string;
  agentIds: string[];
  /** How it reached the desk: detection, technician, or a user's channel (agent, email, slack, teams, phone). */
  channel: string;
  type: string;
  title: string;
  explanation: string;
  criticality: string;
  tier: number;
  status: 'open' | 'acknowledged' | 'resolved' | 'closed';
  failureTime: number;
  detectedAt: number;
  acknowledgedAt: number | null;
  resolvedAt: number | null;
  assignee: string | null;
  assigneeName?: string | null;
  escalationLevel: number;
  paused: boolean;
  resolutionNote: string | null;
  sla: Sla | null;
}

export interface IncidentPage {
  incidents: Incident[];
  total: number;
}

/** The body of every refusal. */
export interface ApiErrorBody {
  error: { code: string; message: string; hint: string; requestId: string };
}

/** A shell or file-transfer session (`GET /api/v1/sessions`). */
export interface SessionRecord {
  id: string;
  kind: string;
  agentId: string;
  userEmail: string;
  elevated: boolean;
  path: string | null;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  outcome: 'ok' | 'refused' | 'failed' | 'ended' | null;
  outcomeCode: string | null;
  recordingStatus: 'none' | 'recording' | 'ok' | 'truncated' | 'failed';
  live: boolean;
}

/** One incident timeline entry (`GET /api/v1/incidents/:id`). */
export interface TimelineEntry {
  id: number;
  at: number;
  kind: string;
  actor: string;
  data: Record<string, unknown>;
}

/** A user as administrators see them (`GET /api/v1/users`). */
export interface AdminUser extends User {
  createdAt: number;
  disabled: boolean;
}

/** An API token's public part (the secret is shown once, at creation). */
export interface ApiTokenInfo {
  id: string;
  name: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** An enrollment token's public part. */
export interface EnrollmentTokenInfo {
  id: string;
  clientId: string;
  siteId: string;
  note: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  maxUses: number;
  uses: number;
  revokedAt: number | null;
  status: string;
}

/** `POST /api/v1/installers`: a new token and the one-liners (`outpost installers create`). */
export interface InstallersAnswer {
  token: string;
  tokenId: string;
  siteId: string;
  expiresAt: number;
  maxUses: number;
  server: string;
  certificate: { fingerprint: string; spkiSha256: string } | null;
  installers: { platform: string; file: string; sha256: string; shell?: string; powershell?: string }[];
}

/** A notification channel with its health. */
export interface ChannelInfo {
  id: string;
  clientId: string | null;
  name: string;
  kind: string;
  target: string;
  createdAt: number;
  state: 'ok' | 'failing' | 'unused';
  consecutiveFailures: number;
  lastError: string | null;
}

/** One inventory change (`GET /api/v1/agents/:id/inventory/history`). */
export interface InventoryChange {
  id: number;
  time: number;
  kind: string;
  probe: string;
  subject: string;
  before: unknown;
  after: unknown;
}

/** A job as listed; with `agentId`, `counts` is that machine's target state. */
export interface JobSummary {
  id: string;
  kind: string;
  what: string;
  status: string;
  createdBy: string;
  createdAt: number;
  counts: Record<string, number>;
}

/** One agent update status report. */
export interface UpdateStatus {
  seq: number;
  time: number;
  assignmentId: string | null;
  phase: string;
  from: string;
  to: string;
  code: string | null;
  reason: string | null;
}

/** A script of the library (`GET /api/v1/scripts`, no body). */
export interface ScriptInfo {
  id: string;
  clientId: string | null;
  name: string;
  version: number;
  shell: string;
  description: string;
  signed: boolean;
}

/** One machine of a job (`GET /api/v1/jobs/:id`). */
export interface JobTargetView {
  agentId: string;
  hostname: string;
  state: string;
  exitCode: number | null;
  durationMs: number | null;
  outputHead: string;
  outputTail: string;
  reason: string;
}

/** A job with its machines. */
export interface JobView extends JobSummary {
  targets: JobTargetView[];
}

/** What a job runs, as `POST /api/v1/jobs` takes it. */
export type JobSpec =
  | { kind: 'script'; script: string }
  | { kind: 'patch'; scope: 'all' | 'security' }
  | { kind: 'software'; action: 'install' | 'remove'; packages: string[] };

/** A published agent release (`GET /api/v1/releases`). */
export interface ReleaseInfo {
  version: string;
  platform?: string;
}

/** A coverage calendar (`GET /api/v1/calendars`). */
export interface CalendarInfo {
  id: string;
  name: string;
  clientId: string | null;
  timezone: string;
  kind: string;
  hours: Record<string, [string, string][]>;
  holidays: string[];
}

/** Response and resolution targets of one criticality, in minutes. */
export interface SlaTarget {
  responseMinutes: number;
  resolutionMinutes: number;
}

/** A client's support contract (`GET /api/v1/clients/:id/contract`). */
export interface ContractInfo {
  id: string;
  clientId: string;
  name: string;
  calendarId: string;
  targets: Partial<Record<'P1' | 'P2' | 'P3' | 'P4', SlaTarget>>;
  nearBreachRatio: number;
  updatedAt: number;
}

/** A notification routing rule (`GET /api/v1/notifications/routes`). */
export interface RouteInfo {
  id: string;
  channelId: string;
  clientId: string | null;
  minCriticality: string;
  tiers: number[];
  events: string[];
  onCall: boolean;
  outsideCoverageOnly: boolean;
}

/** A user's request behind a ticket (GET /api/v1/incidents/:id/request); every string is the user's, shown as text. */
export interface RequestView {
  incidentId: string;
  channel: string;
  requesterName: string;
  requesterContact: string | null;
  vip: boolean;
  agentId: string | null;
  osUser: string | null;
  text: string;
  snapshot: Record<string, unknown> | null;
  related: string[];
  createdAt: number;
}
