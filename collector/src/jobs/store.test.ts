/**
 * The jobs store on SQLite and PostgreSQL: script versions per scope (the shared library's first), a job and its
 * targets written together, the `window` column (reserved in PostgreSQL) kept, listing by client and machine,
 * sending, cancelling, expiring (once, also when two ticks race) and results read back as stored.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import type { SqlDb } from '../db/index.js';
import { type JobRecord, JobsStore, jobsMigrations, type ScriptRecord, type TargetRecord } from './store.js';

const script = (id: string, clientId: string | null, name: string, version: number): ScriptRecord => ({
  id,
  clientId,
  name,
  version,
  shell: 'shell',
  description: `${name} v${version}`,
  body: `echo ${version}`,
  sha256: `sha-${id}-${version}`,
  signature: null,
  createdBy: 'us_1',
  createdAt: 100 + version,
});

const job = (id: string, createdAt: number, over: Partial<JobRecord> = {}): JobRecord => ({
  id,
  kind: 'script',
  spec: '{"scriptId":"sc_1"}',
  target: '{"agents":[]}',
  reboot: '{"mode":"never"}',
  timeoutSec: 60,
  notBefore: 0,
  expiresAt: 10_000,
  window: '{"days":["mon"],"from":"22:00","to":"06:00"}',
  status: 'active',
  retryOf: null,
  createdBy: 'us_1',
  createdAt,
  ...over,
});

const targets = (...specs: [agentId: string, clientId: string][]) =>
  specs.map(([agentId, clientId]) => ({ agentId, clientId, siteId: `si_${clientId}` }));

describeStores('jobs store', jobsMigrations, (db: () => SqlDb) => {
  it('keeps script versions per scope and lists the latest of each, the shared library first', async () => {
    const store = new JobsStore(db());
    await store.addScript(script('sc_1', null, 'cleanup', 1));
    await store.addScript(script('sc_1', null, 'cleanup', 2));
    await store.addScript(script('sc_2', 'cl_a', 'cleanup', 1));
    await store.addScript(script('sc_3', 'cl_b', 'backup', 1));
    expect((await store.scriptByName(null, 'cleanup'))?.version).toBe(2);
    expect((await store.scriptByName('cl_a', 'cleanup'))?.id).toBe('sc_2');
    expect(await store.scriptByName('cl_b', 'cleanup')).toBeUndefined();
    expect(await store.script('sc_1')).toEqual(script('sc_1', null, 'cleanup', 2));
    expect((await store.script('sc_1', 1))?.body).toBe('echo 1');
    expect(await store.script('sc_1', 3)).toBeUndefined();
    expect(await store.scriptVersions('sc_1')).toEqual([2, 1]);
    const ids = (list: ScriptRecord[]) => list.map((s) => `${s.id}@${s.version}`);
    expect(ids(await store.scripts(undefined))).toEqual(['sc_3@1', 'sc_1@2', 'sc_2@1']);
    expect(ids(await store.scripts(['cl_a']))).toEqual(['sc_1@2', 'sc_2@1']);
    expect(ids(await store.scripts([]))).toEqual(['sc_1@2']);
  });

  it('writes a job with its targets, lists jobs by client and machine, and keeps the window as written', async () => {
    const store = new JobsStore(db());
    await store.createJob(job('jb_1', 10), targets(['ag_1', 'cl_a'], ['ag_2', 'cl_b']));
    await store.createJob(job('jb_2', 20, { window: null, kind: 'patch' }), targets(['ag_2', 'cl_b']));
    await store.createJob(job('jb_3', 30), []);
    expect(await store.job('jb_1')).toEqual(job('jb_1', 10));
    expect((await store.job('jb_2'))?.window).toBeNull();
    expect((await store.jobs(undefined, 10)).map((j) => j.id)).toEqual(['jb_3', 'jb_2', 'jb_1']);
    expect((await store.jobs(undefined, 2)).map((j) => j.id)).toEqual(['jb_3', 'jb_2']);
    expect((await store.jobs(['cl_a'], 10)).map((j) => j.id)).toEqual(['jb_1']);
    expect((await store.jobs(['cl_b'], 10, 'ag_2')).map((j) => j.id)).toEqual(['jb_2', 'jb_1']);
    expect((await store.jobs(['cl_a'], 10, 'ag_2')).map((j) => j.id)).toEqual(['jb_1']);
    expect((await store.jobs(undefined, 10, 'ag_1')).map((j) => j.id)).toEqual(['jb_1']);
    expect(await store.targets('jb_1')).toEqual([
      expect.objectContaining({ jobId: 'jb_1', agentId: 'ag_1', clientId: 'cl_a', siteId: 'si_cl_a', state: 'queued' }),
      expect.objectContaining({ agentId: 'ag_2', rebootRequired: false, truncatedBytes: 0, outputHead: '' }),
    ]);
    // A duplicate target fails the whole job: nothing of it is kept.
    await expect(store.createJob(job('jb_4', 40), targets(['ag_1', 'cl_a'], ['ag_1', 'cl_a']))).rejects.toThrow();
    expect(await store.job('jb_4')).toBeUndefined();
    expect(await store.targets('jb_4')).toEqual([]);
  });

  it('sends to queued machines, tells which are pending, and cancels what was not started', async () => {
    const store = new JobsStore(db());
    await store.createJob(job('jb_1', 10), targets(['ag_1', 'cl_a'], ['ag_2', 'cl_a'], ['ag_3', 'cl_a']));
    await store.createJob(job('jb_2', 20), targets(['ag_1', 'cl_a']));
    expect(await store.agentsWithQueued()).toHaveLength(3);
    await store.markSentMany('jb_1', ['ag_1', 'ag_2', 'ag_none'], 500);
    await store.markSentMany('jb_1', [], 501);
    await store.markSent('jb_2', 'ag_1', 510);
    expect((await store.targets('jb_1')).map((t) => [t.agentId, t.state, t.sentAt])).toEqual([
      ['ag_1', 'sent', 500],
      ['ag_2', 'sent', 500],
      ['ag_3', 'queued', null],
    ]);
    expect(await store.agentsWithQueued()).toEqual(['ag_3']);
    expect((await store.pendingFor('ag_1')).map((t) => [t.jobId, t.state, t.job.createdAt])).toEqual([
      ['jb_1', 'sent', 10],
      ['jb_2', 'sent', 20],
    ]);

    const started = (await store.target('jb_1', 'ag_2'))!;
    await store.saveResult({ ...started, state: 'started', startedAt: 600 });
    expect(await store.stoppable('jb_1')).toEqual(['ag_1', 'ag_2']);
    expect(await store.cancel('jb_1', 700)).toBe(2);
    expect((await store.job('jb_1'))?.status).toBe('cancelled');
    expect((await store.targets('jb_1')).map((t) => [t.agentId, t.state, t.reason])).toEqual([
      ['ag_1', 'cancelled', 'cancelled; the agent was told not to start it or to stop it'],
      ['ag_2', 'started', ''],
      ['ag_3', 'cancelled', 'cancelled before it was sent'],
    ]);
    expect(await store.cancelledRunningOn('ag_2')).toEqual(['jb_1']);
    expect((await store.pendingFor('ag_1')).map((t) => t.jobId)).toEqual(['jb_2']);
    expect(await store.agentsWithQueued()).toEqual([]);
  });

  it('stores a result as reported and finds jobs that ended on a machine in a period', async () => {
    const store = new JobsStore(db());
    await store.createJob(job('jb_1', 10), targets(['ag_1', 'cl_a']));
    await store.createJob(job('jb_2', 20, { kind: 'patch', spec: '{"p":1}' }), targets(['ag_1', 'cl_a']));
    const result: TargetRecord = {
      ...(await store.target('jb_1', 'ag_1'))!,
      state: 'failed',
      startedAt: 1_000,
      finishedAt: 2_000,
      exitCode: 3,
      signal: null,
      durationMs: 2 ** 40,
      outputHead: "it's ? done \u00e9",
      outputTail: 'tail',
      truncatedBytes: 12,
      rebootRequired: true,
      rebootScheduled: 'at 03:00',
      reason: 'exit 3',
    };
    await store.saveResult(result);
    expect(await store.target('jb_1', 'ag_1')).toEqual(result);
    await store.saveResult({ ...(await store.target('jb_2', 'ag_1'))!, state: 'succeeded', finishedAt: 3_000 });
    expect((await store.finishedOn('ag_1', 1_500, 3_000)).map((t) => [t.jobId, t.kind, t.spec])).toEqual([
      ['jb_1', 'script', '{"scriptId":"sc_1"}'],
      ['jb_2', 'patch', '{"p":1}'],
    ]);
    expect(await store.finishedOn('ag_1', 2_001, 2_999)).toEqual([]);
    expect(await store.target('jb_1', 'ag_none')).toBeUndefined();
  });

  it('expires the unsent and sent targets of expired jobs once, also when two ticks race', async () => {
    const store = new JobsStore(db());
    await store.createJob(
      job('jb_1', 10, { expiresAt: 100 }),
      targets(['ag_1', 'cl_a'], ['ag_2', 'cl_b'], ['ag_3', 'cl_a']),
    );
    await store.createJob(job('jb_2', 20, { expiresAt: 1_000 }), targets(['ag_1', 'cl_a']));
    await store.markSent('jb_1', 'ag_2', 50);
    const ag3 = (await store.target('jb_1', 'ag_3'))!;
    await store.saveResult({ ...ag3, state: 'succeeded', finishedAt: 60 });
    const [a, b] = await Promise.all([store.expire(100), store.expire(100)]);
    const all = [...a!, ...b!].sort((x, y) => x.agentId.localeCompare(y.agentId));
    expect(all).toEqual([
      { jobId: 'jb_1', agentId: 'ag_1', clientId: 'cl_a' },
      { jobId: 'jb_1', agentId: 'ag_2', clientId: 'cl_b' },
    ]);
    expect((await store.targets('jb_1')).map((t) => [t.state, t.finishedAt])).toEqual([
      ['expired', 100],
      ['expired', 100],
      ['succeeded', 60],
    ]);
    expect((await store.target('jb_2', 'ag_1'))?.state).toBe('queued');
    expect(await store.expire(100)).toEqual([]);
  });
});
