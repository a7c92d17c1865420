/** Presence: keep-alive pings terminate a silent peer, online/offline follows the socket, last-seen is kept. */
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentInstall, enrollAgent, runAgent } from '../support/agent.js';
import { ProcessCleanup, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { enrolledIdentity, RawAgent } from '../support/raw-agent.js';

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector({
    presence: { pingIntervalMs: 200, lastSeenFlushMs: 50, heartbeatIntervalMs: 1000 },
  } as never);
});
afterAll(async () => c?.[Symbol.asyncDispose]());

type AgentView = { status: string; lastSeenAt: number | null };

describe('presence', () => {
  it('terminates a connection that stops answering pings, and shows the agent offline with its last-seen time', async () => {
    const { agentId, keys } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    const alive = await RawAgent.connect(c.agentUrl);
    await alive.keyAuth(agentId, keys.privateKey);
    await alive.next('collector.welcome');
    const other = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    const deaf = await RawAgent.connect(c.agentUrl, { autoPong: false });
    await deaf.keyAuth(other.agentId, other.keys.privateKey);
    await deaf.next('collector.welcome');
    expect((await apiCall<AgentView>(c.admin, 'GET', `/api/v1/agents/${other.agentId}`)).status).toBe('online');

    const t0 = Date.now();
    const closed = await deaf.closed;
    expect(closed.code).toBe(1006); // terminated, no close handshake
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await apiCall<AgentView>(c.admin, 'GET', `/api/v1/agents/${other.agentId}`)).status).toBe('offline');
    expect(await apiCall<string>(c.admin, 'GET', '/metrics')).toMatch(/^outpost_agent_pong_timeouts_total [1-9]/m);

    // The answering agent stays online through many ping rounds, and its last-seen time keeps moving.
    const seen1 = (await apiCall<AgentView>(c.admin, 'GET', `/api/v1/agents/${agentId}`)).lastSeenAt!;
    // Time must pass for several ping rounds: the duration is what is being checked.
    await new Promise((r) => setTimeout(r, 700));
    const view = await apiCall<AgentView>(c.admin, 'GET', `/api/v1/agents/${agentId}`);
    expect(view.status).toBe('online');
    expect(view.lastSeenAt!).toBeGreaterThan(seen1);
    alive.close();
    await alive.closed;
    await expect
      .poll(async () => (await apiCall<AgentView>(c.admin, 'GET', `/api/v1/agents/${agentId}`)).status)
      .toBe('offline');
  });

  it('an agent draining a backlog larger than the burst paces itself instead of being rate-limited', async () => {
    using dir = tempDir('pace');
    // Its own collector with the default keep-alive: a 200 ms ping sweep would cut an agent whose event loop stalls
    // for a moment under load, which is not what this test is about (the pacing under a tight rate limit is).
    await using c = await startTestCollector({
      presence: { heartbeatIntervalMs: 1000 },
      limits: { agentMessagesPerSecond: 200, agentMessageBurst: 100 },
    } as never);
    await using cleanup = new ProcessCleanup();
    const install = agentInstall(dir.path);
    const enrolled = await enrollAgent(install, c.apiUrl, (await c.enrollmentToken()).token, c.fingerprint);
    expect(enrolled.code).toBe(0);
    const agentId = /enrolled as (ag_[0-9a-f]{24})/.exec(enrolled.out)![1]!;
    const agent = cleanup.use(runAgent(install, ['--test-events', '500', '--test-interval', '0']));
    await expect
      .poll(
        async () =>
          (await apiCall<{ total: number }>(c.admin, 'GET', `/api/v1/agents/${agentId}/events?limit=1`)).total,
        { timeout: 20_000 },
      )
      .toBe(501); // 500 test events + agent.started
    expect(agent.stderr()).not.toMatch(/OUTPOST_E_RATE_LIMITED/);
    expect(agent.stderr()).not.toMatch(/"to":"backing_off"/);
  });
});
