/**
 * Job delivery with a controlled clock and protocol-level agents (docs/0010-jobs.md): nothing is sent before the
 * window opens on the site's wall clock (Europe/Paris here), it is sent once it does; a job past its expiry is never
 * sent, even to an agent that connects afterwards; the first outcome an agent reports wins.
 */
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { enrolledIdentity, RawAgent } from '../support/raw-agent.js';

// Tuesday 13 January 2026, 20:00 UTC = 21:00 in Paris (the test site's zone).
const T0 = Date.parse('2026-01-13T20:00:00Z');
const clock = { t: T0, now: () => clock.t };
let c: TestCollector;
let scriptId: string;

beforeAll(async () => {
  c = await startTestCollector({}, { clock });
  c.collector.jobs.stop(); // the test ticks by hand, on its own clock
  scriptId = (await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/scripts', { name: 'noop', body: 'true\n' })).id;
});
afterAll(async () => c?.[Symbol.asyncDispose]());

async function connected() {
  const { agentId, keys } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
  const agent = await RawAgent.connect(c.agentUrl);
  await agent.keyAuth(agentId, keys.privateKey);
  await agent.next('collector.welcome');
  return { agentId, agent, keys };
}

const state = async (jobId: string) =>
  (await apiCall<{ targets: { state: string }[] }>(c.admin, 'GET', `/api/v1/jobs/${jobId}`)).targets[0]!.state;

describe('job delivery', () => {
  it('waits for the window on the site wall clock, then sends job.run once', async () => {
    const { agentId, agent } = await connected();
    const job = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/jobs', {
      spec: { kind: 'script', script: scriptId },
      target: { agentIds: [agentId] },
      window: { days: [2], start: '22:00', minutes: 60 },
    });
    await c.collector.jobs.tick();
    // An absence: no job.run may arrive; 200 ms is ample on loopback for one that would have been sent.
    await new Promise((r) => setTimeout(r, 200));
    expect(agent.received.filter((m) => m.type === 'job.run')).toEqual([]);
    expect(await state(job.id)).toBe('queued');

    clock.t = Date.parse('2026-01-13T21:00:00Z'); // 22:00 in Paris
    await c.collector.jobs.tick();
    const run = await agent.next('job.run');
    expect(run).toMatchObject({ id: job.id, spec: { kind: 'script', name: 'noop', version: 1, body: 'true\n' } });
    expect(await state(job.id)).toBe('sent');
    await c.collector.jobs.tick(); // already sent: not sent again on a tick (only on a new connection)
    await new Promise((r) => setTimeout(r, 200));
    expect(agent.received.filter((m) => m.type === 'job.run')).toEqual([]);

    // The first outcome wins: a later "interrupted" for the same job does not overwrite "succeeded".
    const status = (state: 'succeeded' | 'interrupted', time: number) => ({
      agentId,
      msg: {
        type: 'job.status' as const,
        seq: 1,
        time,
        jobId: job.id,
        state,
        exitCode: state === 'succeeded' ? 0 : null,
        signal: null,
        durationMs: 5,
        outputHead: '',
        outputTail: '',
        truncatedBytes: 0,
        rebootRequired: false,
        rebootScheduled: '',
        reason: '',
      },
    });
    await c.collector.jobs.ingest([status('succeeded', clock.t), status('interrupted', clock.t + 1)], clock.t);
    expect(await state(job.id)).toBe('succeeded');

    // Not before `notBefore`, then at the next tick.
    const later = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/jobs', {
      spec: { kind: 'script', script: scriptId },
      target: { agentIds: [agentId] },
      notBefore: clock.t + 5 * 60_000,
    });
    // An absence: nothing may be delivered before notBefore.
    await new Promise((r) => setTimeout(r, 200));
    expect(agent.received.filter((m) => m.type === 'job.run')).toEqual([]);
    clock.t += 5 * 60_000;
    await c.collector.jobs.tick();
    expect((await agent.next('job.run')).id).toBe(later.id);
    agent.close();
  });

  it('a job past its expiry is never sent, even to an agent that connects afterwards', async () => {
    clock.t = Date.parse('2026-01-13T21:20:00Z');
    const { agentId, keys } = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
    const job = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/jobs', {
      spec: { kind: 'patch' },
      target: { agentIds: [agentId] },
      expiresInSec: 60,
    });
    expect(await state(job.id)).toBe('queued');
    clock.t += 61_000;
    await c.collector.jobs.tick();
    expect(await state(job.id)).toBe('expired');
    const agent = await RawAgent.connect(c.agentUrl);
    await agent.keyAuth(agentId, keys.privateKey);
    await agent.next('collector.welcome');
    // An absence: the expired job must not follow the welcome.
    await new Promise((r) => setTimeout(r, 300));
    expect(agent.received.filter((m) => m.type === 'job.run')).toEqual([]);
    agent.close();
  });
});
