/**
 * The reliable stream end to end, with real processes on loopback: enrollment, presence, and exactly-once storage
 * across a collector SIGKILL and an agent SIGKILL.
 */
import { apiCall } from '@outpost/collector';
import { describe, expect, it } from 'vitest';
import { agentInstall, enrollAgent, runAgent } from '../support/agent.js';
import { ProcessCleanup, tempDir } from '../support/collector.js';
import { bootstrap, freePort, startCollectorProcess } from '../support/process-collector.js';

type EventsPage = {
  events: { seq: number; kind: string; data: Record<string, unknown> }[];
  total: number;
  distinctSeq: number;
};

/** Every `test event stored` line the agent logged: the events it promised to deliver. */
function promised(stderr: string): { n: number; seq: number }[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes('"testEvent"'))
    .map((l) => JSON.parse(l) as { testEvent: number; seq: number })
    .map((l) => ({ n: l.testEvent, seq: l.seq }));
}

describe('reliable stream across crashes', () => {
  it('enrolls, shows the agent online, and stores every event exactly once through a collector SIGKILL and an agent SIGKILL', async () => {
    using dir = tempDir('e2e-stream');
    await using cleanup = new ProcessCleanup();
    const port = await freePort();
    let serve = await startCollectorProcess(`${dir.path}/collector`, port);
    cleanup.defer(() => serve.proc.kill('SIGKILL'));
    const { admin, token } = await bootstrap(serve);

    const install = agentInstall(`${dir.path}/agent`);
    const enrolled = await enrollAgent(install, serve.apiUrl, token, serve.fingerprint);
    expect(enrolled.err).not.toMatch(/error/i);
    expect(enrolled.code).toBe(0);
    const agentId = /enrolled as (ag_[0-9a-f]{24})/.exec(enrolled.out)![1]!;

    // 1. The agent runs and is listed online.
    const agent1 = cleanup.use(runAgent(install, ['--test-events', '400', '--test-interval', '5']));
    await expect
      .poll(async () => (await apiCall<{ status: string }>(admin, 'GET', `/api/v1/agents/${agentId}`)).status, {
        timeout: 20_000,
      })
      .toBe('online');

    // 2. Kill the collector mid-stream, restart it on the same port and data.
    await agent1.waitFor(/"testEvent":100\b/);
    serve.proc.child.kill('SIGKILL');
    await serve.proc.exited;
    await agent1.waitFor(/"testEvent":200\b/); // the agent keeps storing while the collector is down
    serve = await startCollectorProcess(`${dir.path}/collector`, port);
    expect(serve.password).toBeUndefined(); // not a first start: no new admin
    await agent1.waitFor(/"testEvent":400\b/, 30_000);

    const all = async () => apiCall<EventsPage>(admin, 'GET', `/api/v1/agents/${agentId}/events?limit=10000`);
    await expect
      .poll(async () => (await all()).events.filter((e) => e.kind === 'test').length, { timeout: 30_000 })
      .toBe(400);

    // 3. Kill the agent mid-stream and restart it: no sequence reused, nothing stored twice.
    await agent1.kill('SIGKILL');
    const agent2 = cleanup.use(runAgent(install, ['--test-events', '300', '--test-interval', '2']));
    await agent2.waitFor(/"testEvent":50\b/);
    await agent2.kill('SIGKILL');
    const agent3 = cleanup.use(runAgent(install, ['--test-events', '100', '--test-interval', '2']));
    await agent3.waitFor(/"testEvent":100\b/, 30_000);

    const seqsPromised = [...promised(agent1.stderr()), ...promised(agent2.stderr()), ...promised(agent3.stderr())].map(
      (p) => p.seq,
    );
    expect(new Set(seqsPromised).size).toBe(seqsPromised.length); // no sequence number handed out twice
    await expect
      .poll(
        async () => {
          const page = await all();
          const stored = new Set(page.events.map((e) => e.seq));
          return seqsPromised.filter((s) => !stored.has(s)).length;
        },
        { timeout: 30_000 },
      )
      .toBe(0);
    const page = await all();
    expect(page.total).toBe(page.distinctSeq);
    expect(page.total).toBe(page.events.length);
    // Everything stored was promised by some run, or is an agent.started record, or is the one event the SIGKILLed
    // second run had made durable but not yet logged: it must be the next one after its last logged event.
    const promisedSet = new Set(seqsPromised);
    const unpromised = page.events.filter((e) => !promisedSet.has(e.seq) && e.kind !== 'agent.started');
    expect(unpromised.length).toBeLessThanOrEqual(1);
    if (unpromised.length === 1) {
      const last2 = promised(agent2.stderr()).at(-1)!;
      const first3 = promised(agent3.stderr())[0]!;
      expect(unpromised[0]).toMatchObject({ kind: 'test', data: { n: last2.n + 1 } });
      expect(unpromised[0]!.seq).toBeGreaterThan(last2.seq);
      expect(unpromised[0]!.seq).toBeLessThan(first3.seq);
    }

    await agent3.kill('SIGTERM');
    await serve.proc.kill('SIGTERM');
  }, 180_000);
});
