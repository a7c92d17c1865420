/**
 * Which store a configuration asks for, and whether this build can serve it. PostgreSQL is refused at start, with the
 * concerns that still need porting named, until every concern's store runs on the SqlDb handle: a half-ported
 * collector would keep some state in PostgreSQL and the rest nowhere (docs/0016-postgres.md).
 */
import { OutpostError } from '@outpost/shared';
import type { Migration } from './database.js';

/** The concerns whose stores run on SqlDb (SQLite or PostgreSQL), with their tests on both. */
export const PORTED_CONCERNS: ReadonlySet<string> = new Set([
  'stream',
  'events',
  'leases',
  'deployment',
  'tenants',
  'contracts',
  'requests',
  'sessions',
  'updates',
  'rollouts',
  'audit',
  'detection',
  'incidents',
  'notifications',
  'agents',
  'auth',
  'jobs',
  'metrics',
  'inventory',
]);

/** The concerns of `migrations` not yet ported, sorted. */
export function unportedConcerns(migrations: readonly Migration[]): string[] {
  return [...new Set(migrations.map((m) => m.concern))].filter((c) => !PORTED_CONCERNS.has(c)).sort();
}

/** Throws OUTPOST_E_CONFIG_INVALID when `storage.url` asks for PostgreSQL and a concern cannot run on it yet. */
export function refuseUnportedStorage(storage: { url?: string | undefined }, migrations: readonly Migration[]): void {
  if (storage.url === undefined) return;
  const missing = unportedConcerns(migrations);
  if (missing.length === 0) return;
  // The URL is never echoed: it may carry a password.
  throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
    message: `/storage/url: PostgreSQL storage is not available yet; these concerns still run on SQLite only: ${missing.join(', ')}`,
    details: { path: '/storage/url', notPorted: missing },
  });
}
