/** Tenancy logic: clients → sites (agents belong to a site). No fastify here. */
import { randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import { isTimeZone } from '../time/zones.js';
import { type Client, type Site, TenantsStore } from './store.js';

/** What the tenants service is built from. */
export interface TenantsInit {
  db: SqlDb;
  audit: AuditLog;
  clock: Clock;
}

/** Clients and sites. */
export class Tenants {
  readonly #store: TenantsStore;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  constructor(init: TenantsInit) {
    this.#store = new TenantsStore(init.db);
    this.audit = init.audit;
    this.clock = init.clock;
  }

  async createClient(actor: Actor, name: string): Promise<Client> {
    if (await this.#store.clientByName(name))
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: `A client named ${name} already exists` });
    const client: Client = { id: `cl_${randomBytes(6).toString('hex')}`, name, createdAt: this.clock.now() };
    if (!(await this.#store.insertClient(client)))
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: `A client named ${name} already exists` });
    await this.audit.record({
      type: 'client.create',
      code: 'OUTPOST_I_CLIENT_CREATED',
      result: 'success',
      actor: actorRef(actor),
      clientId: client.id,
      resource: `client:${client.id}`,
      details: { name },
    });
    return client;
  }

  async createSite(actor: Actor, clientId: string, name: string, timezone: string): Promise<Site> {
    if (!(await this.#store.client(clientId)))
      throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No client ${clientId}` });
    if (!isTimeZone(timezone))
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: `Unknown time zone ${timezone}`,
        details: { field: 'timezone' },
      });
    if (await this.#store.siteByName(clientId, name))
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: `Client ${clientId} already has a site named ${name}` });
    const site: Site = {
      id: `si_${randomBytes(6).toString('hex')}`,
      clientId,
      name,
      timezone,
      createdAt: this.clock.now(),
    };
    if (!(await this.#store.insertSite(site)))
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: `Client ${clientId} already has a site named ${name}` });
    await this.audit.record({
      type: 'site.create',
      code: 'OUTPOST_I_SITE_CREATED',
      result: 'success',
      actor: actorRef(actor),
      clientId,
      resource: `site:${site.id}`,
      details: { name, timezone },
    });
    return site;
  }

  client(id: string): Promise<Client | undefined> {
    return this.#store.client(id);
  }

  /** Clients, all or those listed. */
  listClients(ids?: readonly string[]): Promise<Client[]> {
    return this.#store.listClients(ids);
  }

  site(id: string): Promise<Site | undefined> {
    return this.#store.site(id);
  }

  listSites(clientId: string): Promise<Site[]> {
    return this.#store.listSites(clientId);
  }
}
