/**
 * The sessions concern owns remote shell sessions on the collector: ticket signing, the channel relay between
 * technician and agent sockets with end-to-end credit, recordings (asciicast v2, gzip) and their metadata, and
 * the session audit rows. It must never relay bytes for a session the guard has not authorised, and never read
 * another concern's tables.
 */
export { loadOrCreateTicketKey, newTicketKeyPem, readTicketKeyPem, type TicketKey, ticketKeyFromPem } from './keys.js';
export { LiveShell, NO_ECHO_MARKER } from './live.js';
export { CastRecorder } from './recorder.js';
export { sessionsRoutes } from './routes.js';
export {
  type OpenRequest,
  type SessionOpenedHook,
  Sessions,
  type SessionsCluster,
  type SessionsInit,
  type SessionsOptions,
} from './service.js';
export { type SessionRecord, SessionsStore, sessionsMigrations } from './store.js';
export { INPUT_WINDOW_BYTES, type ServerMessage, TECH_CHANNEL, type TechMessage } from './wire.js';
