import { describe, expect, it } from 'vitest';
import { ACTIONS, type Actor, authorize, can, clientScope, notFound, type RoleBinding, sees } from './permissions.js';

const user = (...bindings: RoleBinding[]): Actor => ({
  kind: 'user',
  id: 'us_1',
  email: 'u@x',
  bindings,
  via: 'api_token',
  tokenId: 't',
});

describe('authorize', () => {
  it('scopes roles to their client', () => {
    const tech = user({ role: 'tier1', clientId: 'A' });
    expect(can(tech, 'agent.read', 'A')).toBe(true);
    expect(can(tech, 'agent.read', 'B')).toBe(false);
    expect(can(tech, 'shell', 'A')).toBe(true);
    expect(can(tech, 'shell.elevated', 'A')).toBe(false);
    expect(can(tech, 'file.write', 'A')).toBe(false);
    expect(can(user({ role: 'tier2', clientId: 'A' }), 'file.write', 'A')).toBe(true);
    // Tags decide where jobs and rollout rings go: tier 2 and up, like jobs.
    expect(can(tech, 'agent.tag', 'A')).toBe(false);
    expect(can(user({ role: 'tier2', clientId: 'A' }), 'agent.tag', 'A')).toBe(true);
    expect(can(user({ role: 'tier2', clientId: 'A' }), 'agent.tag', 'B')).toBe(false);
    expect(() => authorize(tech, 'agent.read', { type: 'agent', id: 'ag', clientId: 'B' })).toThrow(
      expect.objectContaining({ code: 'OUTPOST_E_FORBIDDEN' }),
    );
  });

  it('grants more with each tier, and everything to admins', () => {
    const order = ['viewer', 'tier1', 'tier2', 'tier3', 'admin'] as const;
    for (let i = 1; i < order.length; i++) {
      for (const a of ACTIONS) {
        if (can(user({ role: order[i - 1]!, clientId: 'A' }), a, 'A'))
          expect(can(user({ role: order[i]!, clientId: 'A' }), a, 'A')).toBe(true);
      }
    }
    for (const a of ACTIONS) expect(can(user({ role: 'admin', clientId: null }), a, null)).toBe(true);
  });

  it('keeps global resources for global bindings only', () => {
    const clientAdmin = user({ role: 'admin', clientId: 'A' });
    expect(can(clientAdmin, 'user.manage', null)).toBe(false);
    expect(can(clientAdmin, 'client.create', null)).toBe(false);
    expect(can(clientAdmin, 'agent.revoke', 'A')).toBe(true);
  });

  it('computes the clients an actor may act on', () => {
    expect(clientScope(user({ role: 'viewer', clientId: 'A' }), 'agent.read')).toEqual(['A']);
    expect(clientScope(user({ role: 'viewer', clientId: 'A' }), 'agent.revoke')).toEqual([]);
    expect(clientScope(user({ role: 'tier3', clientId: null }), 'agent.revoke')).toBe('all');
    expect(clientScope({ kind: 'system', id: 'system' }, 'audit.read')).toBe('all');
  });

  it('tells the clients an actor may see at all from those it may act on, and names the hidden as unknown', () => {
    const viewer = user({ role: 'viewer', clientId: 'A' });
    expect(sees(viewer, 'A')).toBe(true);
    expect(sees(viewer, 'B')).toBe(false);
    expect(sees(viewer, null)).toBe(true);
    expect(sees(user({ role: 'viewer', clientId: null }), 'B')).toBe(true);
    expect(sees({ kind: 'system', id: 'system' }, 'B')).toBe(true);
    expect(notFound({ type: 'enrollment_token', id: 'et_1', clientId: 'B' })).toMatchObject({
      code: 'OUTPOST_E_NOT_FOUND',
      message: 'No enrollment token et_1',
    });
    expect(notFound({ type: 'contract', clientId: 'cl_b' }).message).toBe('No client cl_b');
  });
});
