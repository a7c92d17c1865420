/**
 * The auth concern owns users, role bindings, console sessions, API tokens, TOTP and the authorisation rules.
 * It must never read another concern's tables, and never let a route skip `authorize` (the guard) or
 * authentication (the hook; public routes are an explicit, tested allow-list).
 */
export { CSRF_HEADER, createAuthenticate, credentialOf, originRefusal, SESSION_COOKIE } from './authenticate.js';
export { actorOf, createGuard, type Guard } from './guard.js';
export {
  ACTIONS,
  type Action,
  type Actor,
  authorize,
  can,
  clientScope,
  holdsRoleOn,
  notFound,
  type Resource,
  ROLES,
  type Role,
  type RoleBinding,
  sees,
} from './permissions.js';
export { authRoutes } from './routes.js';
export { AuthService, actorRef, type PublicUser } from './service.js';
export { authMigrations } from './store.js';
