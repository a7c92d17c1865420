/**
 * Detection end to end with real processes: a real agent samples its machine while a busy loop started by the test
 * burns a core (an incident with the agent, the rule, the time of failure and the busy process in its explanation;
 * killing the loop clears it), and runs the checks its collector's policy gives it against a real socket (a failing
 * check opens an incident with the check as source; the port coming back clears it).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { apiCall, detection } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentInstall, enrollAgent, runAgent } from '../support/agent.js';
import { ProcessCleanup, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { freePort } from '../support/process-collector.js';

let c: TestCollector;
let sink: InstanceType<typeof detection.MemoryIncidentSink>;
let checkedPort: number;
let policyFile: string;
const dir = tempDir('e2e-detection');
const policyText = (extraCheck = '') => `checksFailAfter: 1
thresholds:
  - { metric: "proc.cpu_pct:outpost-spin", value: 20, clear: 5, forSec: 1, clearSec: 1, criticality: P2 }
checks:
  - { id: app-port, kind: tcp, host: 127.0.0.1, port: ${checkedPort}, timeoutMs: 500 }
${extraCheck}`;

beforeAll(async () => {
  checkedPort = await freePort();
  policyFile = `${dir.path}/policy.yaml`;
  writeFileSync(policyFile, policyText());
  c = await startTestCollector({ detection: { policyFile } } as never);
  const s = c.collector.incidentSink;
  if (!(s instanceof detection.MemoryIncidentSink)) throw new Error('this test reads the in-memory incident sink');
  sink = s;
});
afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** Resolves with the first sink event that matches. */
function nextEvent(match: (e: detection.SinkEvent) => boolean, timeoutMs = 15_000): Promise<detection.SinkEvent> {
  const seen = sink.events.find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching incident event in ${timeoutMs} ms; events: ${JSON.stringify(sink.events)}`));
    }, timeoutMs);
    const off = sink.onEvent((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

async function startAgent(cleanup: ProcessCleanup, name: string, env: Record<string, string>) {
  const install = agentInstall(`${dir.path}/${name}`);
  const enrolled = await enrollAgent(install, c.apiUrl, (await c.enrollmentToken()).token, c.fingerprint);
  expect(enrolled.code).toBe(0);
  const agentId = /enrolled as (ag_[0-9a-f]{24})/.exec(enrolled.out)![1]!;
  install.env = { ...install.env, ...env };
  cleanup.use(runAgent(install));
  return agentId;
}

describe('detection end to end', () => {
  it('a busy loop opens an incident with the agent, rule, time of failure and explanation; killing it clears it', async () => {
    await using cleanup = new ProcessCleanup();
    const agentId = await startAgent(cleanup, 'cpu', { OUTPOST_METRICS_INTERVAL_MS: '200' });
    // The agent is reporting before the load starts.
    await expect
      .poll(() => c.collector.metricsService.samples(agentId, 'cpu.total_pct', 0, Date.now() + 1000).length, {
        timeout: 10_000,
        interval: 100,
      })
      .toBeGreaterThan(0);

    const spinStart = Date.now();
    const spin = spawn(process.execPath, ['-e', "process.title = 'outpost-spin'; for (;;) {}"], { stdio: 'ignore' });
    const spinExited = new Promise((r) => spin.once('exit', r));
    cleanup.defer(async () => {
      if (spin.exitCode === null && spin.signalCode === null) spin.kill('SIGKILL');
      await spinExited;
    });
    const key = `threshold:${agentId}:proc.cpu_pct:outpost-spin:>20`;
    const raised = await nextEvent((e) => e.kind === 'raise' && e.signal.key === key);
    if (raised.kind !== 'raise') throw new Error('unreachable');
    const s = raised.signal;
    expect(s).toMatchObject({ agentIds: [agentId], source: 'threshold', rule: 'proc.cpu_pct:outpost-spin > 20' });
    expect(s.criticality).toBe('P2');
    // Time of failure: the first sample over the limit, after the loop started and a duration before the decision.
    expect(s.failureTime).toBeGreaterThanOrEqual(spinStart);
    expect(s.detectedAt - s.failureTime).toBeGreaterThanOrEqual(1000);
    expect(s.detectedAt - spinStart).toBeLessThan(8000);
    expect(s.explanation).toMatch(/proc\.cpu_pct:outpost-spin is \d+(\.\d)? %, above the policy limit of 20(\.0)? %/);
    expect(s.explanation).toContain(`(outpost-spin: pid ${spin.pid})`);
    expect(s.explanation).toContain(new Date(s.failureTime).toISOString().slice(0, 19));

    const killedAt = Date.now();
    spin.kill('SIGKILL');
    await spinExited;
    const cleared = await nextEvent((e) => e.kind === 'clear' && e.key === key);
    if (cleared.kind !== 'clear') throw new Error('unreachable');
    expect(cleared.at).toBeGreaterThanOrEqual(killedAt);
    expect(sink.open.has(key)).toBe(false);
  });

  it('runs the pushed checks: a closed port opens a check incident, the port opening clears it, a reload adds one', async () => {
    await using cleanup = new ProcessCleanup();
    const agentId = await startAgent(cleanup, 'checks', { OUTPOST_CHECKS_INTERVAL_MS: '300' });
    const key = `check:${agentId}:app-port`;
    const raised = await nextEvent((e) => e.kind === 'raise' && e.signal.key === key);
    if (raised.kind !== 'raise') throw new Error('unreachable');
    expect(raised.signal).toMatchObject({ source: 'check', rule: 'check:tcp:app-port', agentIds: [agentId] });
    expect(raised.signal.explanation).toContain(
      `TCP check app-port (127.0.0.1:${checkedPort}) failed 1 times in a row`,
    );
    expect(raised.signal.explanation).toContain('ECONNREFUSED');
    expect(raised.signal.failureTime).toBeLessThanOrEqual(raised.signal.detectedAt);

    const server: Server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(checkedPort, '127.0.0.1', r));
    try {
      const cleared = await nextEvent((e) => e.kind === 'clear' && e.key === key);
      expect(cleared).toMatchObject({ kind: 'clear', note: expect.stringContaining('passing again') });
    } finally {
      await new Promise((r) => server.close(r));
    }
    // A reloaded policy reaches the running agent: its new check runs and fails.
    writeFileSync(policyFile, policyText('  - { id: db-proc, kind: process, name: no-such-db-4242 }\n'));
    const reload = await apiCall<{ policies: { checks: unknown[] }[] }>(
      c.admin,
      'POST',
      '/api/v1/detection/policy/reload',
    );
    expect(reload.policies[0]!.checks).toHaveLength(2);
    const proc = await nextEvent((e) => e.kind === 'raise' && e.signal.key === `check:${agentId}:db-proc`);
    if (proc.kind !== 'raise') throw new Error('unreachable');
    expect(proc.signal.explanation).toContain('no process named no-such-db-4242 is running');

    // The results are kept as series too.
    const series = c.collector.metricsService.samples(agentId, 'check.ok:app-port', 0, Date.now() + 1000);
    expect(series.map((s) => s.value)).toContain(0);
    expect(series.map((s) => s.value)).toContain(1);
  });
});
