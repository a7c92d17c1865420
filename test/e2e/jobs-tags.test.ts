/**
 * Agent tags end to end, as a technician does it (docs/0010-jobs.md, "Targets"): three real agent processes, two
 * tagged with `outpost agents tag`, `outpost agents list --tag` shows exactly them, and `outpost jobs run --tag
 * --wait` runs a script on exactly those two (the third is never sent it); a tag nobody carries is answered so.
 */
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentInstall, enrollAgent, runAgent } from '../support/agent.js';
import {
  outpostBin,
  ProcessCleanup,
  spawnNode,
  startTestCollector,
  type TestCollector,
  tempDir,
} from '../support/collector.js';

const posix = process.platform !== 'win32';
let c: TestCollector;
let admin: ApiTarget;
let global: string[];
const cleanup = new ProcessCleanup();
const dir = tempDir('jobs-tags-e2e');
const agents: string[] = [];

async function cli(...args: string[]): Promise<{ code: number | null; out: string; stdout: string }> {
  await using p = spawnNode(outpostBin, [...global, ...args], {
    TZ: 'UTC',
    OUTPOST_CLI_CONFIG: join(dir.path, 'cli.json'),
  });
  const code = await p.exited;
  return { code, out: p.stdout() + p.stderr(), stdout: p.stdout() };
}

beforeAll(async () => {
  c = await startTestCollector();
  admin = c.admin;
  global = [
    '--server',
    c.apiUrl,
    '--token',
    c.admin.token!,
    ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
  ];
  if (!posix) return;
  // Three real agents, enrolled and connected in parallel (each is a Node process).
  const ids = await Promise.all(
    ['one', 'two', 'three'].map(async (name) => {
      const install = agentInstall(join(dir.path, name));
      const e = await enrollAgent(install, c.apiUrl, (await c.enrollmentToken()).token, c.fingerprint);
      expect(e.code, e.out + e.err).toBe(0);
      const agentId = /enrolled as (ag_[0-9a-f]{24})/.exec(e.out)![1]!;
      cleanup.use(runAgent(install));
      return agentId;
    }),
  );
  agents.push(...ids);
}, 60_000);
afterAll(async () => {
  await cleanup[Symbol.asyncDispose]();
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe.runIf(posix)('agent tags from the CLI', () => {
  it('tags two agents; a job by tag runs on exactly them; an unknown tag targets nobody and says so', async () => {
    const [one, two, three] = agents as [string, string, string];
    for (const id of agents)
      await expect
        .poll(async () => (await apiCall<{ status: string }>(admin, 'GET', `/api/v1/agents/${id}`)).status, {
          timeout: 20_000,
        })
        .toBe('online');
    const t1 = await cli('agents', 'tag', one, 'add', 'ring-test', 'kiosk');
    expect(t1.code, t1.out).toBe(0);
    expect(t1.stdout).toMatch(/tags: kiosk, ring-test/);
    expect((await cli('agents', 'tag', two, 'add', 'ring-test')).code).toBe(0);
    // A malformed tag fails before any call, with a coded error.
    const bad = await cli('agents', 'tag', three, 'add', 'Ring Test');
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain('OUTPOST_E_BAD_REQUEST');

    const listed = await cli('--json', 'agents', 'list', '--tag', 'ring-test');
    expect(listed.code, listed.out).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((a) => a.id).sort()).toEqual([one, two].sort());
    const shown = await cli('agents', 'show', one);
    expect(shown.stdout).toMatch(/tags\s+kiosk, ring-test/);

    const script = await apiCall<{ id: string }>(admin, 'POST', '/api/v1/scripts', {
      name: 'tagged-hello',
      body: 'echo hello-from-tagged\n',
    });
    const run = await cli('--json', 'jobs', 'run', '--script', script.id, '--tag', 'ring-test', '--wait');
    expect(run.code, run.out).toBe(0);
    const job = JSON.parse(run.stdout) as {
      id: string;
      targets: { agentId: string; state: string; outputHead: string }[];
    };
    expect(job.targets.map((t) => t.agentId).sort()).toEqual([one, two].sort());
    expect(job.targets.every((t) => t.state === 'succeeded' && t.outputHead.includes('hello-from-tagged'))).toBe(true);
    // The untagged agent was never sent it: it has no job at all.
    expect((await apiCall<{ jobs: unknown[] }>(admin, 'GET', `/api/v1/jobs?agentId=${three}`)).jobs).toEqual([]);

    const none = await cli('jobs', 'run', '--script', script.id, '--tag', 'nobody-has-this');
    expect(none.code).not.toBe(0);
    expect(none.out).toContain('OUTPOST_E_JOB_NO_TARGETS');
    expect(none.out).toContain('nobody-has-this');
  }, 60_000);
});
