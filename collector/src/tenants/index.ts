/**
 * The tenants concern owns clients and sites, the scopes every other concern's data and permissions hang from.
 * It must never decide permissions itself (routes call the auth guard) nor read agents' or users' tables.
 */
export { tenantsRoutes } from './routes.js';
export { Tenants, type TenantsInit } from './service.js';
export { type Client, type Site, tenantsMigrations } from './store.js';
