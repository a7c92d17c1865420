/**
 * The contracts concern owns support contracts per client: coverage calendars (business hours in a time zone with
 * public holidays, extended hours, 24/7), response and resolution targets per criticality, penalty terms, and on-call
 * rotations per tier with overrides. It answers "what SLA applies", "is this instant covered" and "who is on duty";
 * it must never touch tickets (incidents runs the clocks) nor send anything (notifications does).
 */
export { type CalendarSpec, Coverage, checkCalendar } from './calendar.js';
export { contractsRoutes } from './routes.js';
export * from './schemas.js';
export { Contracts, type ContractsDeps, type ContractsInit, dutyAt, type SlaTerms } from './service.js';
export { contractsMigrations } from './store.js';
