/**
 * The security re-read of the PostgreSQL ports (docs/0016-postgres.md, "Security review, PostgreSQL and nodes"), as
 * an attacker would try it against the API, on both engines: what one technician stores must not make a list
 * unreadable for everyone, and a list of users shown to an administrator of one client names no other client.
 */
import { type ApiTarget, apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { freshPostgres, postgresUnavailable, stopPostgresAfterAll } from '../support/postgres.js';
import { enrolledIdentity } from '../support/raw-agent.js';

stopPostgresAfterAll();

const PASSWORD = 'correct horse battery';

for (const engine of ['sqlite', 'postgres'] as const) {
  describe.skipIf(engine === 'postgres' && postgresUnavailable !== undefined)(`API on ${engine}`, () => {
    let c: TestCollector;
    let clientB: string;
    const as: Record<string, ApiTarget> = {};

    const userOn = async (email: string, roles: { role: string; clientId: string | null }[]) => {
      await apiCall(c.admin, 'POST', '/api/v1/users', { email, name: email, password: PASSWORD, roles });
      const base = { server: c.apiUrl, caFingerprint: c.fingerprint };
      const login = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', { email, password: PASSWORD });
      return { ...base, token: login.token };
    };

    beforeAll(async () => {
      c = await startTestCollector(engine === 'postgres' ? { storage: { url: await freshPostgres() } } : {});
      clientB = (await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/clients', { name: 'Globex' })).id;
      as.tier2 = await userOn('tier2-a@example.com', [{ role: 'tier2', clientId: c.clientId }]);
      as.adminA = await userOn('admin-a@example.com', [{ role: 'admin', clientId: c.clientId }]);
      // Someone working for both clients: the administrator of A may see them, not what they do for B.
      await userOn('both@example.com', [
        { role: 'tier1', clientId: c.clientId },
        { role: 'tier3', clientId: clientB },
      ]);
    }, 60_000);
    afterAll(async () => c?.[Symbol.asyncDispose]());

    it("a technician's far-future job is refused, and the jobs list stays readable for everyone", async () => {
      const { agentId } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
      const script = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/scripts', {
        name: 'far',
        clientId: c.clientId,
        body: 'true\n',
      });
      // A safe integer, as the API's number check lets through; its expiry (notBefore + expiresInSec) is not one.
      // PostgreSQL stored the row, and every later read of it failed (BIGINT past 2^53 is refused, not rounded).
      const far = apiCall(as.tier2!, 'POST', '/api/v1/jobs', {
        spec: { kind: 'script', script: script.id },
        target: { agentIds: [agentId] },
        notBefore: Number.MAX_SAFE_INTEGER,
      });
      await expect(far).rejects.toMatchObject({ code: 'OUTPOST_E_BAD_REQUEST' });
      const listed = await apiCall<{ jobs: unknown[] }>(c.admin, 'GET', '/api/v1/jobs');
      expect(listed.jobs).toEqual([]);
      const later = await apiCall<{ id: string; notBefore: number }>(as.tier2!, 'POST', '/api/v1/jobs', {
        spec: { kind: 'script', script: script.id },
        target: { agentIds: [agentId] },
        notBefore: Date.UTC(2100, 0, 1),
      });
      const after = await apiCall<{ jobs: { id: string; notBefore: number }[] }>(c.admin, 'GET', '/api/v1/jobs');
      expect(after.jobs.map((j) => [j.id, j.notBefore])).toEqual([[later.id, Date.UTC(2100, 0, 1)]]);
    });

    it("an administrator of client A lists users without any other client's roles", async () => {
      const list = await apiCall<{ users: { email: string; roles: { role: string; clientId: string | null }[] }[] }>(
        as.adminA!,
        'GET',
        '/api/v1/users',
      );
      const both = list.users.find((u) => u.email === 'both@example.com');
      expect(both?.roles).toEqual([{ role: 'tier1', clientId: c.clientId }]);
      expect(JSON.stringify(list)).not.toContain(clientB);
      // The global administrator still sees every role.
      const all = await apiCall<{ users: { email: string; roles: unknown[] }[] }>(c.admin, 'GET', '/api/v1/users');
      const roles = all.users.find((u) => u.email === 'both@example.com')?.roles;
      expect(roles).toHaveLength(2);
      expect(roles).toEqual(
        expect.arrayContaining([
          { role: 'tier1', clientId: c.clientId },
          { role: 'tier3', clientId: clientB },
        ]),
      );
    });
  });
}
