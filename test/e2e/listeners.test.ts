/** The agent endpoint on its own listener: agents connect there, the technicians' API is not reachable there. */
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { enrolledIdentity } from '../support/raw-agent.js';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({ agents: { host: '127.0.0.1', port: 0 } } as never);
});
afterAll(async () => c?.[Symbol.asyncDispose]());

describe('separate listeners', () => {
  it('serves agents on the agent port and the API only on the API port', async () => {
    const apiPort = new URL(c.apiUrl).port;
    const agentPort = new URL(c.agentUrl).port;
    expect(agentPort).not.toBe(apiPort);
    const { agentId } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    expect((await apiCall<{ id: string }>(c.admin, 'GET', `/api/v1/agents/${agentId}`)).id).toBe(agentId);
    const agentSide = { ...c.admin, server: c.agentUrl.replace(/^ws/, 'http') };
    await expect(apiCall(agentSide, 'GET', '/api/v1/agents')).rejects.toMatchObject({ code: 'OUTPOST_E_NOT_FOUND' });
    await expect(
      apiCall(agentSide, 'POST', '/api/v1/auth/login', { email: 'a@b.c', password: 'x' }),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_NOT_FOUND' });
    expect(await apiCall<{ status: string }>(agentSide, 'GET', '/healthz')).toMatchObject({ status: 'ok' });
  });
});
