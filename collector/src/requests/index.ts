/**
 * The requests concern owns how users reach support (docs/0014-requests.md): the requester directory each client's
 * admins keep (VIP flag, e-mail, chat handles), the triage rules (keywords → type, criticality, tier), and what each
 * request brought in (channel, requester, machine, snapshot, related detection incidents). A request is an incident:
 * this concern files it through the incidents concern's functions and never touches the incidents' tables, nor
 * decides permissions (routes call the guard).
 */
export { type AgentDeskDeps, agentRequestDesk, agentRequestSink } from './agent-desk.js';
export { type ChatDeps, chatRoutes } from './chat-routes.js';
export { automatic, type EmailDeps, EmailReceiver, type EmailSettings } from './email.js';
export { EmailReplies, type RelaySettings } from './email-replies.js';
export { requestsRoutes } from './routes.js';
export { HELP_COOKIE, helpCsrf, selfServiceRoutes } from './self-routes.js';
export { publicTimeline, SelfService, type SelfServiceSettings } from './self-service.js';
export { selfServiceMigrations } from './self-store.js';
export { agentOrigin, type NewRequest, type RequestChannel, Requests, type RequestsDeps } from './service.js';
export { slackSignature, teamsAuthorization, verifySlack, verifyTeams } from './signatures.js';
export { type Requester, type RequestRecord, requestsMigrations, type TriageRule } from './store.js';
export { type Triage, triage } from './triage.js';
