/**
 * The tenants concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox and the shared HTTP schemas only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';

/** A client (tenant). */
export const ClientView = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.Integer() });
/** A site of a client. */
export const SiteView = Type.Object({
  id: Type.String(),
  clientId: Type.String(),
  name: Type.String(),
  timezone: Type.String(),
  createdAt: Type.Integer(),
});
/** Every client the caller may see. */
export const ClientList = Type.Object({ clients: Type.Array(ClientView) });

/** A client's sites. */
export const SiteList = Type.Object({ sites: Type.Array(SiteView) });
