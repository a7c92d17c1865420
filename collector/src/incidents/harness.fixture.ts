/**
 * Test fixture (not built): the incidents and contracts concerns on a real in-memory SQLite with every migration,
 * real tenants, users, agents and audit log, a fake clock and a notifier that keeps what it is given.
 */
import pino from 'pino';
import { Agents, ConnectionRegistry } from '../agents/index.js';
import { MIGRATIONS } from '../app.js';
import { AuditLog } from '../audit/index.js';
import { type Actor, AuthService, type Role } from '../auth/index.js';
import { Contracts } from '../contracts/index.js';
import { migrate, openDatabase } from '../db/index.js';
import { Tenants } from '../tenants/index.js';
import type { IncidentNotice } from './core.js';
import { IncidentService } from './service.js';

const logger = pino({ level: 'silent' });
const SYSTEM: Actor = { kind: 'system', id: 'system' };

/** Builds the fixture; `start` is the fake clock's first instant; `file` puts the database on disk (default: memory). */
export async function harness(opts: {
  start: number;
  reopenWindowMs?: number;
  autoResolveHoldMs?: number;
  file?: string;
}) {
  const clock = {
    t: opts.start,
    now() {
      return this.t;
    },
  };
  const db = openDatabase(opts.file ?? ':memory:');
  migrate(db, MIGRATIONS);
  const audit = new AuditLog(db, clock, logger);
  const tenants = new Tenants(db, audit, clock);
  const auth = new AuthService(db, audit, clock, logger, {
    sessionTtlMs: 3_600_000,
    initialAdminEmail: 'admin@outpost.test',
  });
  const agents = new Agents(db, tenants, new ConnectionRegistry(), audit, clock, logger);
  const contracts = new Contracts(db, audit, clock, {
    clientExists: async (id) => (await tenants.client(id)) !== undefined,
    siteClient: async (id) => (await tenants.site(id))?.clientId,
    member: (id, clientId) => auth.memberOf(id, clientId),
  });
  const incidents = new IncidentService({
    db,
    audit,
    clock,
    logger,
    sla: contracts,
    deps: {
      siteClient: async (id) => (await tenants.site(id))?.clientId,
      agentPlace: async (id) => {
        const a = await agents.get(id);
        return a && { clientId: a.clientId, siteId: a.siteId };
      },
      member: (id, clientId) => auth.memberOf(id, clientId),
    },
    options: {
      autoResolveHoldMs: opts.autoResolveHoldMs ?? 300_000,
      reopenWindowMs: opts.reopenWindowMs ?? 86_400_000,
    },
  });
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
