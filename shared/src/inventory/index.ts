/**
 * Inventory rows both sides agree on: the probe row schemas with their column descriptions, row keys, cleaning and
 * hashing. The probes themselves live in the agent; storage, history and reports in the collector.
 */
export * from './canonical.js';
export * from './check.js';
export * from './deb-version.js';
export * from './rows.js';
export * from './sanitize.js';
