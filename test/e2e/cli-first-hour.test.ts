/**
 * The CLI as a technician meets it in the first hour, through the real `outpost` binary against a real collector:
 * `inventory show` names pending patches and software versions; times are human dates in tables and ISO 8601 in
 * `--json` (never epoch milliseconds); two machines with the same hostname are told apart in incident titles, the
 * agent list and the quality report; report titles name the client and site; `incidents show` prints a readable
 * timeline; `incidents comment` confirms; `report perimeter --out x.pdf` is refused naming the supported formats.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall, inventory } from '@outpost/collector';
import { type AgentFacts, PROTOCOL_VERSION, signAuthProof } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { newKeys, RawAgent, testFacts } from '../support/raw-agent.js';

const dir = tempDir('cli-first-hour');
let c: TestCollector;
let global: string[];
let twins: string[];
/** Epoch milliseconds as a person would see them: 13 digits standing alone. */
const EPOCH_MS = /(?<![\d.])1\d{12}(?![\d])/;

async function enrollAs(hostname: string): Promise<string> {
  const keys = newKeys();
  const a = await RawAgent.connect(c.agentUrl);
  const nonce = await a.nonce();
  const facts: AgentFacts = { ...testFacts, hostname };
  a.sendJson({
    type: 'agent.hello',
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: '0.0.0-test',
    auth: {
      method: 'enroll',
      token: (await c.enrollmentToken()).token,
      publicKey: keys.publicKey,
      signature: signAuthProof(keys.privateKey, nonce, 'enroll', keys.publicKey),
    },
    facts,
  });
  const welcome = await a.next('collector.welcome');
  a.ws.close();
  await a.closed;
  return welcome.agentId;
}

async function cli(...args: string[]): Promise<{ code: number | null; out: string; stdout: string }> {
  await using p = spawnNode(outpostBin, [...global, ...args], { TZ: 'UTC', OUTPOST_CLI_CONFIG: join(dir.path, 'x') });
  const code = await p.exited;
  return { code, out: p.stdout() + p.stderr(), stdout: p.stdout() };
}

beforeAll(async () => {
  c = await startTestCollector();
  global = [
    '--server',
    c.apiUrl,
    '--token',
    c.admin.token!,
    ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
  ];
  twins = [await enrollAs('ws-01'), await enrollAs('WS-01')];
  const rows = inventory.demoRows({
    hostname: 'ws-01',
    serial: 'SN-1',
    uuid: '4c4c4544-0000-1000-8000-000000000001',
    mac: '00:1a:2b:3c:4d:01',
    packages: 3,
    software: [{ name: 'zz-editor', version: '9.8.7' }],
    patches: [{ name: 'openssl-zz', security: true, severity: 'critical' }],
    antivirus: [{ product: 'Guard AV', enabled: false, expiresAt: null }],
  });
  // Keys in alphabetical order, as canonical JSON has them: the columns shown must not depend on the key order.
  const sorted = Object.fromEntries(
    Object.entries(rows).map(([probe, list]) => [
      probe,
      (list as Record<string, unknown>[]).map((r) =>
        Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))),
      ),
    ]),
  );
  await c.collector.inventory.ingest(
    [{ agentId: twins[0]!, msg: inventory.fullReport(1, sorted, Date.now()) }],
    Date.now(),
  );
}, 30_000);
afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe('the CLI in the first hour', () => {
  it('inventory show names the pending patch and the software version; dates are human, JSON is ISO', async () => {
    const [show, json, agent, agentJson, whoami] = await Promise.all([
      cli('inventory', 'show', twins[0]!),
      cli('--json', 'inventory', 'show', twins[0]!, '--probe', 'pending_patches'),
      cli('agents', 'show', twins[0]!),
      cli('--json', 'agents', 'show', twins[0]!),
      cli('whoami'),
    ]);
    for (const r of [show, json, agent, agentJson, whoami]) expect(r.code, r.out).toBe(0);
    const patches = show.stdout.slice(show.stdout.indexOf('== pending_patches'));
    expect(patches.split('\n')[1]).toMatch(/KIND\s+NAME\s+INSTALLED_VERSION\s+CANDIDATE_VERSION/);
    expect(patches).toMatch(/update\s+openssl-zz\s/);
    const software = show.stdout.slice(show.stdout.indexOf('== installed_software'));
    expect(software.split('\n')[1]).toMatch(/NAME\s+VERSION\s+PUBLISHER/);
    expect(software).toMatch(/zz-editor\s+9\.8\.7\s/);
    expect(show.stdout).toMatch(/collected \d{4}-\d\d-\d\d \d\d:\d\d/);
    for (const r of [show, agent, whoami]) expect(r.stdout, r.stdout).not.toMatch(EPOCH_MS);
    expect(agent.stdout).toMatch(/lastSeenAt\s+\d{4}-\d\d-\d\d \d\d:\d\d \((just now|\d+ min ago)\)/);
    expect(whoami.stdout).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d/);
    const a = JSON.parse(agentJson.stdout) as { lastSeenAt: string; enrolledAt: string };
    expect(a.lastSeenAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(json.stdout).not.toMatch(EPOCH_MS);
    expect(JSON.parse(json.stdout)).toHaveProperty('probes');
  }, 60_000);

  it('two machines with one hostname are told apart: agent list, incident titles, quality report; titles name the client', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const next = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    // An inventory rule opens an incident for the twin whose antivirus is off: its title carries the short id.
    await c.collector.detection.evaluateInventory(twins[0]!);
    for (const id of twins)
      await apiCall(c.admin, 'POST', '/api/v1/incidents', {
        clientId: c.clientId,
        siteId: c.siteId,
        title: 'printer offline',
        type: 'printing',
        criticality: 'P3',
        agentIds: [id],
      });
    const perimeter = join(dir.path, 'perimeter.html');
    const [list, incidents, quality, report] = await Promise.all([
      cli('agents', 'list'),
      cli('incidents', 'list'),
      cli('report', 'quality', '--client', c.clientId, '--from', day, '--to', next, '--format', 'html'),
      cli('report', 'perimeter', '--client', c.clientId, '--out', perimeter),
    ]);
    for (const r of [list, incidents, quality, report]) expect(r.code, r.out).toBe(0);
    for (const id of twins) expect(list.stdout).toContain(id);
    const short = twins.map((id) => id.slice(0, 11));
    expect(short[0]).toMatch(/^ag_[0-9a-f]{8}$/);
    expect(incidents.stdout).toContain(`antivirus Guard AV is off on ws-01 (${short[0]})`);
    expect(quality.stdout).toContain(`ws-01 (${short[0]})`);
    expect(quality.stdout).toContain(`WS-01 (${short[1]})`);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(perimeter, 'utf8')).toMatch(/<h1>Perimeter documentation — Acme<\/h1>/);
  }, 60_000);

  it('incidents show prints a readable timeline; comment confirms with the incident id', async () => {
    const inc = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
      clientId: c.clientId,
      siteId: c.siteId,
      title: 'mail stuck',
      type: 'email',
      criticality: 'P2',
      agentIds: [twins[0]!],
    });
    const comment = await cli('incidents', 'comment', inc.id, 'called the user back');
    expect(comment.code, comment.out).toBe(0);
    expect(comment.stdout).toMatch(new RegExp(`^comment added to ${inc.id}\\n`));
    const esc = await cli('incidents', 'escalate', inc.id, '--reason', 'needs a tier 2');
    expect(esc.code, esc.out).toBe(0);
    // Escalation hands the ticket back to the queue; then the tier 2 admin takes it.
    const take = await cli('incidents', 'take', inc.id);
    expect(take.stdout).toMatch(/assignee Administrator \(us_[0-9a-f]+\)/);
    const show = await cli('incidents', 'show', inc.id);
    expect(show.code, show.out).toBe(0);
    const timeline = show.stdout.slice(show.stdout.indexOf('timeline:'));
    expect(timeline).toMatch(/AT\s+BY\s+WHAT/);
    expect(timeline).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d\s+\S+\s+opened \(P2, tier 1, manual/);
    expect(timeline).toMatch(/comment: called the user back/);
    expect(timeline).toMatch(/escalated from tier 1 to tier 2 \(level \d+\): needs a tier 2/);
    expect(timeline).not.toMatch(/[{}"]/);
    expect(timeline).toMatch(/taken by Administrator/);
    expect(show.stdout).toMatch(/assignee\s+Administrator \(us_/);
    const list = await cli('incidents', 'list');
    expect(list.stdout).toMatch(new RegExp(`${inc.id} .* Administrator `));
    expect(show.stdout).not.toMatch(EPOCH_MS);
  }, 60_000);

  it('report perimeter chooses the format from --out and refuses an extension it cannot write', async () => {
    const pdf = join(dir.path, 'x.pdf');
    const csv = join(dir.path, 'x.csv');
    const json = join(dir.path, 'x.json');
    const [bad, good, asJson] = await Promise.all([
      cli('report', 'perimeter', '--site', c.siteId, '--out', pdf),
      cli('report', 'perimeter', '--site', c.siteId, '--out', csv),
      cli('report', 'perimeter', '--site', c.siteId, '--out', json),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/"\.pdf" is not a supported report format; supported: \.html, \.csv, \.json/);
    expect(existsSync(pdf)).toBe(false);
    expect(good.code, good.out).toBe(0);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(csv, 'utf8')).toMatch(/^hostname,device_id,/);
    // JSON is the route's closed report schema: exactly its top-level fields, one section per machine.
    expect(asJson.code, asJson.out).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { summary: { machines: number }; machines: unknown[] };
    expect(Object.keys(report).sort()).toEqual(['generatedAt', 'machines', 'summary', 'title']);
    expect(report.machines).toHaveLength(report.summary.machines);
  }, 60_000);

  it('cluster status shows the one node, its agents and every lease it holds', async () => {
    const [table, asJson] = await Promise.all([cli('cluster', 'status'), cli('--json', 'cluster', 'status')]);
    expect(table.code, table.out).toBe(0);
    expect(table.stdout).toMatch(/: single node \(no cluster section\), storage sqlite\n/);
    expect(table.stdout).toMatch(/^LEASE\s+HOLDER\s+EPOCH\s+EXPIRES IN\s+HELD FOR$/m);
    expect(table.stdout).toMatch(/^incidents\s+local\s+1\s+\d+\.\d s\s+\d+\.\d s$/m);
    const s = JSON.parse(asJson.stdout) as { nodes: { self: boolean; agents: number }[]; leases: { name: string }[] };
    expect(s.nodes).toEqual([expect.objectContaining({ self: true, agents: expect.any(Number) })]);
    expect(s.leases.map((l) => l.name)).toEqual(['detection sweeps', 'incidents', 'jobs', 'notifications', 'rollouts']);
  }, 60_000);
});
