/**
 * Roles, actions and the one `authorize(actor, action, resource)` every route calls. Pure logic: no I/O, so the
 * rules can be read and tested in one place.
 */
import { OutpostError } from '@outpost/shared';

/** The roles, from least to most privileged. */
export const ROLES = ['viewer', 'tier1', 'tier2', 'tier3', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Every action a route can ask permission for. */
export const ACTIONS = [
  'client.read',
  'client.create',
  'site.create',
  'agent.read',
  'agent.revoke',
  'agent.tag',
  'inventory.refresh',
  'enrollment_token.read',
  'enrollment_token.create',
  'enrollment_token.revoke',
  'user.read',
  'user.manage',
  'audit.read',
  'metrics.read',
  'shell',
  'shell.elevated',
  'file.read',
  'file.write',
  'incidents.read',
  'incidents.write',
  'incidents.report',
  'contracts.read',
  'contracts.manage',
  'notifications.read',
  'notifications.manage',
  'detection.read',
  'detection.manage',
  'jobs.read',
  'jobs.run',
  'scripts.read',
  'scripts.manage',
  // Releases (issue 15): admins only (admin holds every action); no other role is granted these.
  'releases.read',
  'releases.publish',
  'agent.update',
  // Rollouts (issue 15): admins only, like releases.
  'rollouts.read',
  'rollouts.manage',
  // Users' requests (issue 19): the requester directory and triage rules; admins only, like contracts.
  'requests.manage',
] as const;
export type Action = (typeof ACTIONS)[number];

const viewer: Action[] = ['client.read', 'agent.read'];
const tier1: Action[] = [...viewer, 'shell', 'inventory.refresh'];
// File transfers run with the agent's own identity (inside its file roots), not as the shell user: tier 2 and up.
const tier2: Action[] = [...tier1, 'enrollment_token.read', 'enrollment_token.create', 'file.read', 'file.write'];
const tier3: Action[] = [...tier2, 'shell.elevated', 'agent.revoke', 'enrollment_token.revoke', 'audit.read'];
// Incidents (issue 5): everyone reads tickets, contracts and the quality report; technicians work tickets; tier 3
// sees notification channels; only admins manage contracts, calendars, rotations and channels.
for (const r of [viewer, tier1, tier2, tier3]) r.push('incidents.read', 'incidents.report', 'contracts.read');
for (const r of [tier1, tier2, tier3]) r.push('incidents.write');
tier3.push('notifications.read');
// Detection (issue 4): everyone may see the policies in force; only admins reload them (admin holds every action).
for (const r of [viewer, tier1, tier2, tier3]) r.push('detection.read');
// Metrics (issue 17): everyone who sees a machine sees its series; `metrics.read` on no client (global) is the
// collector's own Prometheus page, which a role bound to every client already sees the whole fleet of.
for (const r of [viewer, tier1, tier2, tier3]) r.push('metrics.read');

// Jobs (issue 15): everyone sees jobs and the script library; scripts and patches change machines: tier 2 and up.
for (const r of [viewer, tier1, tier2, tier3]) r.push('jobs.read', 'scripts.read');
for (const r of [tier2, tier3]) r.push('jobs.run', 'scripts.manage');
// Tags (issue 15) decide which machines a job or a rollout ring reaches: whoever may run jobs there may tag.
for (const r of [tier2, tier3]) r.push('agent.tag');

/** What each role may do within its scope. */
export const GRANTS: Record<Role, ReadonlySet<Action>> = {
  viewer: new Set(viewer),
  tier1: new Set(tier1),
  tier2: new Set(tier2),
  tier3: new Set(tier3),
  admin: new Set(ACTIONS),
};

/** A role held on one client, or on every client when `clientId` is null. */
export interface RoleBinding {
  role: Role;
  clientId: string | null;
}

/** Who performs an action: a user (through a console session or an API token) or the collector itself. */
export type Actor =
  | {
      kind: 'user';
      id: string;
      email: string;
      bindings: readonly RoleBinding[];
      via: 'session' | 'api_token';
      tokenId: string;
    }
  | { kind: 'system'; id: 'system' };

/** What an action applies to. `clientId: null` is a global resource (users, new clients, server metrics). */
export interface Resource {
  type: string;
  id?: string | undefined;
  clientId: string | null;
}

/** True when the actor may perform the action on a resource of that client (null: global). */
export function can(actor: Actor, action: Action, clientId: string | null): boolean {
  if (actor.kind === 'system') return true;
  return actor.bindings.some((b) => (b.clientId === null || b.clientId === clientId) && GRANTS[b.role].has(action));
}

/**
 * True when the actor may see the client at all: it holds some role there (or on every client). A resource of a
 * client the actor cannot see does not exist for it (DESIGN.md, "Identity and trust"); a global resource (null) is
 * always visible, and refused by `authorize` alone.
 */
export function sees(actor: Actor, clientId: string | null): boolean {
  if (actor.kind === 'system' || clientId === null) return true;
  return holdsRoleOn(actor.bindings, clientId);
}

/**
 * True when the bindings hold some role on the client or on every client. For a shared resource (`null`, e.g. a
 * rotation that pages for every client) any role will do: only a caller bound to every client may name users there,
 * and who is paged for a client's ticket is checked against that client when it is paged.
 */
export function holdsRoleOn(bindings: readonly RoleBinding[], clientId: string | null): boolean {
  return bindings.some((b) => b.clientId === null || clientId === null || b.clientId === clientId);
}

/**
 * The answer to a resource the actor cannot see: the very error an unknown id gets (`No agent ag_x`), so that
 * nothing tells a resource of another client from one that does not exist. Routes answer unknown ids with it too.
 */
export function notFound(resource: Resource): OutpostError {
  const what = resource.id ? `${resource.type.replaceAll('_', ' ')} ${resource.id}` : `client ${resource.clientId}`;
  return new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No ${what}` });
}

/** Throws OUTPOST_E_FORBIDDEN unless the actor may perform the action on the resource. */
export function authorize(actor: Actor, action: Action, resource: Resource): void {
  if (!can(actor, action, resource.clientId)) {
    throw new OutpostError('OUTPOST_E_FORBIDDEN', {
      message: `Not allowed to ${action} on ${resource.type}${resource.id ? ` ${resource.id}` : ''}`,
      details: { action, resource: resource.type },
    });
  }
}

/** The clients on which the actor may perform the action: 'all', or an explicit (possibly empty) list. */
export function clientScope(actor: Actor, action: Action): 'all' | string[] {
  if (actor.kind === 'system') return 'all';
  const ids = new Set<string>();
  for (const b of actor.bindings) {
    if (!GRANTS[b.role].has(action)) continue;
    if (b.clientId === null) return 'all';
    ids.add(b.clientId);
  }
  return [...ids];
}
