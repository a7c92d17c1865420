/**
 * The events concern owns the events agents report (agent started, test events, later service changes).
 * It must never acknowledge anything to an agent itself: the stream concern commits, then acknowledges.
 */
export { EventsStore, eventsMigrations, type StoredEvent } from './store.js';
