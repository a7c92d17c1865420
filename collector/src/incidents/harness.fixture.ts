/**
 * Test fixture (not built): the collector's concerns as production wires them (`wireCore`, the same function
 * `buildApp` calls) on a real SQLite with every migration, a fake clock, no timers started, and a notifier that keeps
 * what incidents hand it. Tenants (two clients, three sites) and a `user()` helper are ready.
 */
import pino from 'pino';
import { MIGRATIONS } from '../app.js';
import type { Actor, Role } from '../auth/index.js';
import { type Clock, checkSettings } from '../config.js';
import { type Core, wireCore } from '../core.js';
import { type Db, migrate, openDatabase, sqlOf } from '../db/index.js';
import type { IncidentNotice } from './core.js';

const logger = pino({ level: 'silent' });
const SYSTEM: Actor = { kind: 'system', id: 'system' };

/**
 * Every concern as production wires it, on a database already migrated: what a test that reopens a database (a
 * restart) builds again. Timers are not started; the test drives the work.
 */
export async function wired(opts: { db: Db; clock: Clock; settings?: Record<string, unknown> }): Promise<Core> {
  const settings = checkSettings({
    dataDir: ':memory:',
    auth: { initialAdminEmail: 'admin@outpost.test' },
    ...opts.settings,
  });
  return wireCore({ db: opts.db, sql: sqlOf(opts.db), config: { ...settings, clock: opts.clock, logger } });
}

/** Builds the fixture; `start` is the fake clock's first instant; `file` puts the database on disk (default: memory). */
export async function harness(opts: {
  start: number;
  reopenWindowMs?: number;
  autoResolveHoldMs?: number;
  file?: string;
  /** Collector settings beyond the defaults (e.g. `notifications` delivery timings), checked as `outpost serve` does. */
  settings?: Record<string, unknown>;
}) {
  const clock = {
    t: opts.start,
    now() {
      return this.t;
    },
  };
  const db = openDatabase(opts.file ?? ':memory:');
  migrate(db, MIGRATIONS);
  const core = await wired({
    db,
    clock,
    settings: {
      ...opts.settings,
      incidents: {
        autoResolveHoldMs: opts.autoResolveHoldMs ?? 300_000,
        reopenWindowMs: opts.reopenWindowMs ?? 86_400_000,
      },
    },
  });
  const { audit, tenants, auth, contracts, incidents } = core;
  const notices: IncidentNotice[] = [];
  incidents.setNotifier({
    notify: async (n) => {
      notices.push(structuredClone(n));
    },
  });
  const client = await tenants.createClient(SYSTEM, 'Acme');
  const other = await tenants.createClient(SYSTEM, 'Globex');
  const site = await tenants.createSite(SYSTEM, client.id, 'HQ', 'Europe/Paris');
  const plant = await tenants.createSite(SYSTEM, client.id, 'Plant', 'Europe/Paris');
  const otherSite = await tenants.createSite(SYSTEM, other.id, 'Main', 'Europe/Paris');
  let n = 0;
  /** A user with one role on the client, as an API-token actor. */
  const user = async (name: string, role: Role = 'tier1'): Promise<Actor & { kind: 'user' }> => {
    const u = await auth.createUser(SYSTEM, {
      email: `${name}@acme.test`,
      name,
      password: `correct horse battery ${name} ${++n}`,
      roles: [{ role, clientId: client.id }],
    });
    return { kind: 'user', id: u.id, email: u.email, bindings: u.roles, via: 'api_token', tokenId: `tok_${n}` };
  };
  return {
    clock,
    db,
    core,
    audit,
    tenants,
    auth,
    contracts,
    incidents,
    notices,
    client,
    other,
    site,
    plant,
    otherSite,
    user,
  };
}

/** The fixture's type. */
export type Harness = Awaited<ReturnType<typeof harness>>;

/** Epoch ms of a wall time in Europe/Paris given with its UTC offset, e.g. `paris('2026-01-13T17:30', 1)`. */
export function paris(local: string, offsetHours: 1 | 2): number {
  return Date.parse(`${local}:00.000+0${offsetHours}:00`);
}
