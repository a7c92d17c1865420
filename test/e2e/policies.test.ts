/**
 * Detection policies on a real collector (loopback, real SQLite, fake clock), with samples handed to the real metrics
 * sink for an enrolled agent: the shipped rules open an incident on a fresh collector with no configuration; a policy
 * added through the API opens incidents on matching samples at once, and removing it stops that; bad input gets
 * clear errors; non-admins and other clients are refused; every change is audited; the `outpost policies` CLI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { OutpostError } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { enrolledIdentity } from '../support/raw-agent.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
type Incident = {
  key: string | null;
  source: string;
  status: string;
  criticality: string;
  failureTime: number;
  clearSince: number | null;
};
type Entry = { id: string; source: string; scope: string; inForce: boolean; rules: { metric: string }[] };

async function refused(p: Promise<unknown>): Promise<OutpostError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutpostError);
  return err as OutpostError;
}

async function setup() {
  const clock = { t: T0, now: () => clock.t };
  const c = await startTestCollector({}, { clock });
  const { token } = await c.enrollmentToken();
  const { agentId } = await enrolledIdentity(c.agentUrl, token);
  let seq = 0;
  /** `n` samples 30 s apart, through the real metrics sink (stored, then detection). */
  const feed = async (n: number, values: Record<string, number>) => {
    for (let i = 0; i < n; i++) {
      clock.t += 30_000;
      await c.collector.metricsService.commit([
        { agentId, msg: { type: 'metrics.batch', seq: ++seq, samples: [{ time: clock.t, values }] } },
      ]);
    }
  };
  const incidents = async (t: ApiTarget = c.admin) =>
    (await apiCall<{ incidents: Incident[] }>(t, 'GET', `/api/v1/incidents?agentId=${agentId}`)).incidents;
  const userOf = async (clientId: string, role: string): Promise<ApiTarget> => {
    const email = `${role}-${clientId}@acme.test`;
    await apiCall(c.admin, 'POST', '/api/v1/users', {
      email,
      name: role,
      password: 'correct horse battery staple',
      roles: [{ role, clientId }],
    });
    const login = await apiCall<{ token: string }>(c.admin, 'POST', '/api/v1/auth/login', {
      email,
      password: 'correct horse battery staple',
    });
    return { ...c.admin, token: login.token };
  };
  return { c, clock, agentId, feed, incidents, userOf };
}

const cli = (c: TestCollector, ...args: string[]) =>
  spawnNode(outpostBin, [
    '--server',
    c.apiUrl,
    '--token',
    c.admin.token!,
    ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
    ...args,
  ]);

describe('detection policies', () => {
  it('the shipped rules open an incident for a CPU at 100 % for 5 min on a fresh collector with no configuration', async () => {
    const { c, agentId, feed, incidents } = await setup();
    await using _ = c;
    const start = T0 + 30_000;
    await feed(10, { 'cpu.total_pct': 100 }); // 4 min 30 s over the limit: not yet
    expect(await incidents()).toEqual([]);
    await feed(1, { 'cpu.total_pct': 100 });
    const [inc, ...more] = await incidents();
    expect(more).toEqual([]);
    expect(inc).toMatchObject({
      key: `threshold:${agentId}:cpu.total_pct:>95`,
      source: 'threshold',
      criticality: 'P2',
      failureTime: start,
    });
    // The default is listed, with the rules it runs.
    const list = await apiCall<{ policies: Entry[] }>(c.admin, 'GET', '/api/v1/detection/policies');
    expect(list.policies.map((p) => [p.id, p.source, p.inForce])).toEqual([['default', 'default', true]]);
    expect(list.policies[0]!.rules.map((r) => r.metric)).toEqual(['cpu.total_pct', 'mem.used_pct', 'disk.used_pct:*']);
  });

  it('a policy added through the API opens incidents at once; removed, it stops; all audited', async () => {
    const { c, agentId, feed, incidents } = await setup();
    await using _ = c;
    const added = await apiCall<Entry & { clientId: string; siteId: string }>(
      c.admin,
      'POST',
      '/api/v1/detection/policies',
      { siteId: c.siteId, thresholds: [{ metric: 'temp.celsius:*', value: 80, forSec: 60, criticality: 'P1' }] },
    );
    expect(added).toMatchObject({ source: 'api', scope: `site:${c.siteId}`, clientId: c.clientId, inForce: true });
    expect(added.id).toMatch(/^pol_/);
    await feed(3, { 'temp.celsius:cpu': 91 });
    const open = await incidents();
    expect(open.map((i) => [i.key, i.criticality])).toEqual([[`threshold:${agentId}:temp.celsius:cpu:>80`, 'P1']]);

    // Changed: the limit moves; the old rule's incident is cleared, the new one judges from now on.
    const changed = await apiCall<Entry>(c.admin, 'PUT', `/api/v1/detection/policies/${added.id}`, {
      thresholds: [{ metric: 'temp.celsius:*', value: 95, forSec: 60 }],
    });
    expect(changed.scope).toBe(`site:${c.siteId}`);
    await feed(4, { 'temp.celsius:gpu': 91 });
    const after = await incidents();
    expect(after.map((i) => i.key)).toEqual([`threshold:${agentId}:temp.celsius:cpu:>80`]);
    // Its rule is gone: nothing would ever clear it, so the change clears it (auto-resolved after the hold).
    expect(after[0]!.clearSince).not.toBeNull();

    const gone = await apiCall<{ removed: string }>(c.admin, 'DELETE', `/api/v1/detection/policies/${added.id}`);
    expect(gone.removed).toBe(added.id);
    await feed(6, { 'temp.celsius:gpu': 99, 'temp.celsius:cpu': 99 });
    expect((await incidents()).map((i) => i.key)).toEqual([`threshold:${agentId}:temp.celsius:cpu:>80`]);
    const list = await apiCall<{ policies: Entry[] }>(c.admin, 'GET', '/api/v1/detection/policies');
    expect(list.policies.map((p) => p.id)).toEqual(['default']);

    const audit = await apiCall<{ events: { type: string; result: string; resource: string }[] }>(
      c.admin,
      'GET',
      '/api/v1/audit?limit=200',
    );
    const writes = audit.events
      .filter((e) => e.type.startsWith('detection.policy.'))
      .map((e) => [e.type, e.result, e.resource])
      .reverse();
    expect(writes).toEqual([
      ['detection.policy.add', 'success', `detection_policy:${added.id}`],
      ['detection.policy.change', 'success', `detection_policy:${added.id}`],
      ['detection.policy.remove', 'success', `detection_policy:${added.id}`],
    ]);
  });

  it('bad input gets clear errors; non-admins and other clients are refused; file and default are read-only', async () => {
    const { c, userOf } = await setup();
    await using _ = c;
    const post = (body: unknown, t: ApiTarget = c.admin) => apiCall(t, 'POST', '/api/v1/detection/policies', body);
    const bad = await refused(post({ thresholds: [{ metric: 'cpu.total_pct', value: 'high' }] }));
    expect(bad.code).toBe('OUTPOST_E_POLICY_INVALID');
    expect(bad.message).toContain('/thresholds/0/value');
    const kind = await refused(post({ checks: [{ id: 'x', kind: 'smtp', host: 'mail' }] }));
    expect(kind.message).toContain('/checks/0/kind: must be one of service, process, tcp, http, ping, dns');
    const extra = await refused(post({ clientId: c.clientId, threshold: [] }));
    expect(extra.code).toBe('OUTPOST_E_POLICY_INVALID');
    expect(extra.message).toContain('threshold');
    expect((await refused(post({ siteId: 'si_nope' }))).code).toBe('OUTPOST_E_NOT_FOUND');
    expect((await refused(post([]))).code).toBe('OUTPOST_E_BAD_REQUEST');
    expect((await refused(apiCall(c.admin, 'DELETE', '/api/v1/detection/policies/pol_nope'))).code).toBe(
      'OUTPOST_E_NOT_FOUND',
    );
    const ro = await refused(apiCall(c.admin, 'DELETE', '/api/v1/detection/policies/default'));
    expect(ro.code).toBe('OUTPOST_E_CONFLICT');
    expect(ro.message).toContain('read-only');

    const p = await apiCall<Entry>(c.admin, 'POST', '/api/v1/detection/policies', { clientId: c.clientId });
    const twice = await refused(post({ clientId: c.clientId }));
    expect(twice.code).toBe('OUTPOST_E_CONFLICT');
    expect(twice.message).toContain(p.id);
    const moved = await refused(apiCall(c.admin, 'PUT', `/api/v1/detection/policies/${p.id}`, { siteId: c.siteId }));
    expect(moved.code).toBe('OUTPOST_E_POLICY_INVALID');

    // A tier-3 technician of the client reads its policies but changes none.
    const tier3 = await userOf(c.clientId, 'tier3');
    const seen = await apiCall<{ policies: Entry[] }>(tier3, 'GET', '/api/v1/detection/policies');
    expect(seen.policies.map((e) => e.id)).toEqual(['default', p.id]);
    expect((await refused(post({ siteId: c.siteId }, tier3))).code).toBe('OUTPOST_E_FORBIDDEN');
    expect((await refused(apiCall(tier3, 'DELETE', `/api/v1/detection/policies/${p.id}`))).code).toBe(
      'OUTPOST_E_FORBIDDEN',
    );
    expect((await refused(apiCall(tier3, 'PUT', `/api/v1/detection/policies/${p.id}`, {}))).code).toBe(
      'OUTPOST_E_FORBIDDEN',
    );
    expect((await refused(post({}, tier3))).code).toBe('OUTPOST_E_FORBIDDEN');
    // An admin of another client: this client's policy and site do not exist for them.
    const other = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/clients', { name: 'Globex' });
    const outsider = await userOf(other.id, 'admin');
    const theirs = await apiCall<{ policies: Entry[] }>(outsider, 'GET', '/api/v1/detection/policies');
    expect(theirs.policies.map((e) => e.id)).toEqual(['default']);
    for (const call of [
      apiCall(outsider, 'GET', `/api/v1/detection/policies/${p.id}`),
      apiCall(outsider, 'DELETE', `/api/v1/detection/policies/${p.id}`),
      post({ siteId: c.siteId }, outsider),
    ])
      expect((await refused(call)).code).toBe('OUTPOST_E_NOT_FOUND');
    // Its own client: allowed.
    await expect(post({ clientId: other.id, defaults: false }, outsider)).resolves.toBeTruthy();
    // Nothing of the refusals changed anything.
    const after = await apiCall<{ policies: Entry[] }>(c.admin, 'GET', '/api/v1/detection/policies');
    expect(after.policies.map((e) => e.scope)).toEqual(['default', `client:${c.clientId}`, `client:${other.id}`]);
  });

  it('outpost policies add, list, show, set and rm', async () => {
    const { c, agentId, feed, incidents } = await setup();
    await using _ = c;
    const add = cli(c, 'policies', 'add', '--site', c.siteId, '--threshold', 'swap.used_pct > 50 for 1m P1');
    expect(await add.exited).toBe(0);
    const id = /added (pol_[0-9a-f]+) for site:/.exec(add.stdout())![1]!;
    await feed(3, { 'swap.used_pct': 70 });
    expect((await incidents()).map((i) => i.key)).toEqual([`threshold:${agentId}:swap.used_pct:>50`]);

    const list = cli(c, 'policies', 'list');
    expect(await list.exited).toBe(0);
    expect(list.stdout()).toMatch(/^ID\s+SOURCE\s+SCOPE\s+IN FORCE\s+RULES\s+CHECKS/);
    expect(list.stdout()).toMatch(new RegExp(`${id}\\s+api\\s+site:${c.siteId}\\s+yes\\s+4\\s+0`));

    const set = cli(
      c,
      'policies',
      'set',
      id,
      '--check',
      '{id: web, kind: tcp, host: 127.0.0.1, port: 9}',
      '--drop-threshold',
      'swap.used_pct',
      '--defaults',
      'off',
    );
    expect(await set.exited).toBe(0);
    expect(set.stdout()).toContain(`changed ${id} (site:${c.siteId}): 0 rule(s), 1 check(s)`);
    const show = cli(c, 'policies', 'show', id);
    expect(await show.exited).toBe(0);
    expect(show.stdout()).toMatch(/shipped rules\s+off/);
    expect(show.stdout()).toContain('"kind":"tcp"');

    const badRule = cli(c, 'policies', 'set', id, '--threshold', 'cpu above 90');
    expect(await badRule.exited).not.toBe(0);
    expect(badRule.stderr()).toContain('expected METRIC >|< VALUE');
    const badValue = cli(c, 'policies', 'add', '--client', c.clientId, '--check', '{id: x, kind: tcp, host: h}');
    expect(await badValue.exited).not.toBe(0);
    expect(badValue.stderr()).toContain('/checks/0/port');

    using dir = tempDir('policies-cli');
    const broken = join(dir.path, 'broken.yaml');
    writeFileSync(broken, 'thresholds: [1, 2');
    const badFile = cli(c, 'policies', 'add', '--file', broken);
    expect(await badFile.exited).not.toBe(0);
    expect(badFile.stderr()).toContain(`OUTPOST_E_POLICY_INVALID: ${broken}: not valid JSON or YAML`);
    expect(badFile.stderr()).not.toContain('unexpected failure');

    const rm = cli(c, 'policies', 'rm', id);
    expect(await rm.exited).toBe(0);
    expect(rm.stdout()).toContain(`removed ${id}`);
    const json = cli(c, '--json', 'policies', 'list');
    expect(await json.exited).toBe(0);
    expect((JSON.parse(json.stdout()) as Entry[]).map((e) => e.id)).toEqual(['default']);
  });
});
