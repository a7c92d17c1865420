/**
 * The REST API as the CLI reads it: every route the CLI calls, keyed `METHOD /path` exactly as the collector
 * registers it, with the schema of its success answer — the very schema object the route answers through, so the
 * two cannot drift (docs/0013-composition-root.md, "The CLI's boundary"). A route whose answer is text (a recording,
 * the Prometheus page, CSV or HTML) is `TEXT`. This module and every schema module it imports load TypeBox and
 * `@outpost/shared` only: the CLI reads them without loading Fastify or SQLite (a test inspects the bundle).
 */
import type { TSchema } from '@sinclair/typebox';
import {
  AgentEvents,
  AgentList,
  AgentView,
  CreatedEnrollmentToken,
  EnrollmentTokenList,
  EnrollmentTokenView,
} from '../agents/api.js';
import { AuditEventList } from '../audit/api.js';
import { CreatedApiToken, LoginSession, PasswordChanged, TotpSetup, UserList, UserView } from '../auth/api.js';
import { ClusterStatus } from '../cluster/status-api.js';
import {
  CalendarList,
  CalendarView,
  ContractView,
  OnCallNow,
  RotationList,
  RotationView,
} from '../contracts/schemas.js';
import { ActivePoliciesView, PolicyList, PolicyRemoved, PolicyView } from '../detection/policy-api.js';
import { Ok } from '../http/schemas.js';
import {
  INCIDENT_ACTIONS,
  type IncidentAction,
  IncidentDetail,
  IncidentList,
  IncidentView,
  QueuesView,
} from '../incidents/schemas.js';
import { InstallerManifest } from '../installers/api.js';
import { FleetRows, InventoryHistory, InventoryView } from '../inventory/api.js';
import { JobList, JobView, ScriptList, ScriptSummary, ScriptView } from '../jobs/schemas.js';
import { SeriesResponse } from '../metrics/api.js';
import {
  ChannelList,
  ChannelRemoved,
  ChannelTested,
  ChannelView,
  CreatedChannel,
  OutboxList,
  RouteList,
  RouteView,
} from '../notifications/schemas.js';
import { PerimeterReportSchema } from '../reports/perimeter/schema.js';
import { QualityReportSchema } from '../reports/quality/schema.js';
import { RolloutList, RolloutView } from '../rollouts/schemas.js';
import { SessionList } from '../sessions/api.js';
import { ClientList, ClientView, SiteList, SiteView } from '../tenants/api.js';
import {
  ReleaseList,
  ReleaseState,
  UpdateAssigned,
  UpdateStatuses,
  UploadedFile,
  UploadStarted,
} from '../updates/api.js';

/** A route answering JSON: the schema of its success body. */
export interface JsonRoute {
  readonly response: TSchema;
}
/** A route answering text (no schema: the CLI prints or saves it as it came). */
export interface TextRoute {
  readonly text: true;
}
/** What the table says of one route. */
export type RouteSpec = JsonRoute | TextRoute;

const TEXT: TextRoute = { text: true };
const json = <S extends TSchema>(response: S) => ({ response }) as const;

/** The fleet queries (`outpost inventory software|patches|…`): rows as JSON, or CSV with `format=csv`. */
export const FLEET_QUERIES = ['software', 'patches', 'antivirus', 'eol', 'age'] as const;
/** Rollout actions that answer the rollout. */
export const ROLLOUT_VERBS = ['pause', 'resume', 'abort'] as const;
/** User actions that answer the user. */
export const USER_VERBS = ['disable', 'enable'] as const;

type Each<Names extends readonly string[], Prefix extends string, Spec> = {
  readonly [N in Names[number] as `${Prefix}${N}`]: Spec;
};
/** One entry per name, `<prefix><name>`, all with the same answer. */
function each<const Names extends readonly string[], const Prefix extends string, Spec>(
  names: Names,
  prefix: Prefix,
  spec: Spec,
): Each<Names, Prefix, Spec> {
  return Object.fromEntries(names.map((n) => [`${prefix}${n}`, spec])) as Each<Names, Prefix, Spec>;
}

/** Accounts, tenants, agents, enrollment, audit. */
const ACCOUNT_ROUTES = {
  'POST /api/v1/auth/login': json(LoginSession),
  'POST /api/v1/auth/logout': json(Ok),
  'GET /api/v1/auth/me': json(UserView),
  'POST /api/v1/auth/password': json(PasswordChanged),
  'POST /api/v1/auth/email': json(UserView),
  'POST /api/v1/auth/api-tokens': json(CreatedApiToken),
  'POST /api/v1/auth/totp/setup': json(TotpSetup),
  'POST /api/v1/auth/totp/enable': json(Ok),
  'POST /api/v1/auth/totp/disable': json(Ok),
  'GET /api/v1/users': json(UserList),
  'POST /api/v1/users': json(UserView),
  ...each(USER_VERBS, 'POST /api/v1/users/:id/', json(UserView)),
  'GET /api/v1/clients': json(ClientList),
  'POST /api/v1/clients': json(ClientView),
  'GET /api/v1/clients/:clientId/sites': json(SiteList),
  'POST /api/v1/clients/:clientId/sites': json(SiteView),
  'GET /api/v1/agents': json(AgentList),
  'GET /api/v1/agents/:id': json(AgentView),
  'POST /api/v1/agents/:id/revoke': json(AgentView),
  'POST /api/v1/agents/:id/tags': json(AgentView),
  'GET /api/v1/agents/:id/events': json(AgentEvents),
  'POST /api/v1/enrollment-tokens': json(CreatedEnrollmentToken),
  'GET /api/v1/enrollment-tokens': json(EnrollmentTokenList),
  'POST /api/v1/enrollment-tokens/:id/revoke': json(EnrollmentTokenView),
  'GET /api/v1/audit': json(AuditEventList),
  'GET /install/manifest.json': json(InstallerManifest),
} as const;

/** Inventory, metrics, detection policies, reports. */
const FLEET_ROUTES = {
  'GET /api/v1/agents/:id/inventory': json(InventoryView),
  'GET /api/v1/agents/:id/inventory/history': json(InventoryHistory),
  ...each(FLEET_QUERIES, 'GET /api/v1/inventory/query/', json(FleetRows)),
  'GET /api/v1/agents/:id/metrics': json(SeriesResponse),
  'GET /metrics': TEXT,
  'GET /api/v1/detection/policy': json(ActivePoliciesView),
  'POST /api/v1/detection/policy/reload': json(ActivePoliciesView),
  'GET /api/v1/detection/policies': json(PolicyList),
  'POST /api/v1/detection/policies': json(PolicyView),
  'GET /api/v1/detection/policies/:id': json(PolicyView),
  'PUT /api/v1/detection/policies/:id': json(PolicyView),
  'DELETE /api/v1/detection/policies/:id': json(PolicyRemoved),
  'GET /api/v1/reports/quality': json(QualityReportSchema),
  'GET /api/v1/reports/perimeter': json(PerimeterReportSchema),
} as const;

/** Tickets, contracts and on-call, notifications. */
const WORK_ROUTES = {
  'GET /api/v1/incidents': json(IncidentList),
  'POST /api/v1/incidents': json(IncidentView),
  'GET /api/v1/incidents/:id': json(IncidentDetail),
  ...each(INCIDENT_ACTIONS, 'POST /api/v1/incidents/:id/', json(IncidentView)),
  'GET /api/v1/incident-queues': json(QueuesView),
  'POST /api/v1/requests/calls': json(IncidentView),
  'GET /api/v1/calendars': json(CalendarList),
  'POST /api/v1/calendars': json(CalendarView),
  'GET /api/v1/calendars/:id': json(CalendarView),
  'PUT /api/v1/calendars/:id': json(CalendarView),
  'GET /api/v1/clients/:clientId/contract': json(ContractView),
  'PUT /api/v1/clients/:clientId/contract': json(ContractView),
  'GET /api/v1/oncall/rotations': json(RotationList),
  'POST /api/v1/oncall/rotations': json(RotationView),
  'POST /api/v1/oncall/rotations/:id/overrides': json(RotationView),
  'GET /api/v1/oncall/now': json(OnCallNow),
  'GET /api/v1/notifications/channels': json(ChannelList),
  'POST /api/v1/notifications/channels': json(CreatedChannel),
  'GET /api/v1/notifications/channels/:id': json(ChannelView),
  'DELETE /api/v1/notifications/channels/:id': json(ChannelRemoved),
  'POST /api/v1/notifications/channels/:id/test': json(ChannelTested),
  'GET /api/v1/notifications/routes': json(RouteList),
  'POST /api/v1/notifications/routes': json(RouteView),
  'DELETE /api/v1/notifications/routes/:id': json(Ok),
  'GET /api/v1/notifications/outbox': json(OutboxList),
} as const;

/** Jobs and scripts, releases, updates, rollouts, sessions. */
const CHANGE_ROUTES = {
  'POST /api/v1/jobs': json(JobView),
  'GET /api/v1/jobs': json(JobList),
  'GET /api/v1/jobs/:id': json(JobView),
  'POST /api/v1/jobs/:id/cancel': json(JobView),
  'POST /api/v1/jobs/:id/retry': json(JobView),
  'POST /api/v1/scripts': json(ScriptSummary),
  'GET /api/v1/scripts': json(ScriptList),
  'GET /api/v1/scripts/:id': json(ScriptView),
  'POST /api/v1/releases/uploads': json(UploadStarted),
  'PUT /api/v1/releases/uploads/:id/metadata/:name': json(UploadedFile),
  'PUT /api/v1/releases/uploads/:id/targets/*': json(UploadedFile),
  'POST /api/v1/releases/uploads/:id/commit': json(ReleaseList),
  'GET /api/v1/releases': json(ReleaseState),
  'POST /api/v1/agents/:id/update': json(UpdateAssigned),
  'GET /api/v1/agents/:id/updates': json(UpdateStatuses),
  'POST /api/v1/rollouts': json(RolloutView),
  'GET /api/v1/rollouts': json(RolloutList),
  'GET /api/v1/rollouts/:id': json(RolloutView),
  ...each(ROLLOUT_VERBS, 'POST /api/v1/rollouts/:id/', json(RolloutView)),
  'POST /api/v1/rollouts/:id/rollback': json(RolloutView),
  'GET /api/v1/sessions': json(SessionList),
  'GET /api/v1/sessions/:id/recording': TEXT,
  'GET /api/v1/cluster': json(ClusterStatus),
} as const;

/** Every route the CLI calls. */
export const API_ROUTES = { ...ACCOUNT_ROUTES, ...FLEET_ROUTES, ...WORK_ROUTES, ...CHANGE_ROUTES } as const;
/** The CLI's route table, as a type. */
export type ApiRoutes = typeof API_ROUTES;
/** A route the CLI calls: `METHOD /path`. */
export type ApiRoute = keyof ApiRoutes;

export type { IncidentAction };
/** A fleet query's name. */
export type FleetQuery = (typeof FLEET_QUERIES)[number];
