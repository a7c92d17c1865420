/**
 * The audit concern owns the append-only audit log: who did what to which resource, with the result.
 * It must never update or delete a row (the schema refuses it) and never decide whether an action is allowed.
 */
export { AuditLog } from './audit.js';
export { auditRoutes } from './routes.js';
export { type AuditEvent, type AuditInput, auditMigrations } from './store.js';
