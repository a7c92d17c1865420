/**
 * The live concern owns the console's push channel: the hub that fans agent presence and incident changes out to
 * browsers, and its SSE route. It holds no table and never carries data a subscriber could not read through the
 * API: events name ids and states, filtered by the subscriber's clients.
 */
export { type LiveEvent, LiveHub, type LiveSubscriber } from './hub.js';
export { liveRoutes } from './routes.js';
