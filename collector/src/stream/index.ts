/**
 * The stream concern owns the collector half of the reliable stream: per-agent committed cursors, reported gaps,
 * batching and acknowledgement. It must never acknowledge a message before the concern that stores it committed.
 */
export { type SinkReactions, type StreamCounters, StreamIngest, type StreamPeer } from './ingest.js';
export { streamMetrics } from './metrics.js';
export { type Gap, StreamStore, streamMigrations } from './store.js';
