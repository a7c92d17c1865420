/**
 * Hostile strings through the real `outpost` CLI against a real collector: an agent whose hostname carries an OSC 52
 * clipboard write, a screen clear, BEL, NUL, a right-to-left override and zero-width characters, and a technician's
 * incident whose title, type, explanation (a check message, a process name) and comment carry the same. Every
 * command that prints them (agents list/show, incidents list/show, audit, the quality report's CSV and JSON on
 * standard output, errors) must show them as visible escapes and never send the raw bytes to the terminal.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { type AgentFacts, PROTOCOL_VERSION, signAuthProof } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { newKeys, RawAgent, testFacts } from '../support/raw-agent.js';

const OSC52 = '\x1b]52;c;cm0gLXJmIC8K\x07';
const CLEAR = '\x1b[2J\x1b[H';
const TRICKS = `${OSC52}${CLEAR}\x07\x00\u202egpj.exe\u200b\u2066\x9b6n\x7f`;
const HOSTNAME = `pc${TRICKS}`;
const PROCESS = `evil${OSC52}\u202egnp.exe`;
const CHECK_MESSAGE = `spooler stopped ${CLEAR}\x07\u200b${OSC52}`;
/** What a terminal must never receive: C0 controls other than LF and CR LF, DEL, C1, bidi controls, invisibles. */
const RAW = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|\r(?!\n)/u;

const dir = tempDir('cli-hostile-output');
const policyFile = join(dir.path, 'policy.yaml');
let c: TestCollector;
let global: string[];
let agentId: string;
let incidentId: string;
let checkIncidentId: string;

/**
 * Enrolls a raw agent whose hello carries `hostname`; then, as the agent would, reports a top process with a hostile
 * name and a check failing twice with a hostile message, so detection opens a `check` incident whose title and
 * explanation carry them. Returns the agent id (socket closed once the collector acknowledged the three messages).
 */
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
  const now = Date.now();
  a.sendJson({
    type: 'metrics.batch',
    seq: 1,
    samples: [
      { time: now, values: { 'cpu.total_pct': 12 }, top: [{ pid: 4242, name: PROCESS, cpuPct: 97, memBytes: 1e6 }] },
    ],
  });
  for (const seq of [2, 3])
    a.sendJson({
      type: 'checks.results',
      seq,
      results: [{ checkId: 'svc-spooler', time: now + seq * 1000, ok: false, message: CHECK_MESSAGE }],
    });
  for (;;) if ((await a.next('stream.ack')).seq >= 3) break;
  a.ws.close();
  await a.closed;
  return welcome.agentId;
}

async function cli(...args: string[]): Promise<{ code: number | null; out: string; stdout: string }> {
  await using p = spawnNode(outpostBin, [...global, ...args], { TZ: 'UTC', OUTPOST_CLI_CONFIG: '/nonexistent' });
  const code = await p.exited;
  return { code, out: p.stdout() + p.stderr(), stdout: p.stdout() };
}

beforeAll(async () => {
  // A policy with one service check: its failures open a `check` incident.
  writeFileSync(policyFile, 'checks:\n  - { id: svc-spooler, kind: service, name: spooler }\n');
  c = await startTestCollector({ detection: { policyFile } } as never);
  global = [
    '--server',
    c.apiUrl,
    '--token',
    c.admin.token!,
    ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
  ];
  agentId = await enrollAs(HOSTNAME);
  const inc = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
    clientId: c.clientId,
    siteId: c.siteId,
    title: `service down: ${TRICKS}`,
    type: `svc${TRICKS}`,
    criticality: 'P2',
    agentIds: [agentId],
    explanation: `check said: ${TRICKS}\nprocess: evil${OSC52}`,
  });
  incidentId = inc.id;
  const byAgent = await apiCall<{ incidents: { id: string; source: string }[] }>(
    c.admin,
    'GET',
    `/api/v1/incidents?agentId=${agentId}`,
  );
  checkIncidentId = byAgent.incidents.find((i) => i.source === 'check')!.id;
}, 30_000);
afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe('the outpost CLI never prints an agent or user string raw', () => {
  it('tables, objects, timelines, the audit log, report CSV and JSON, errors: escapes shown, no raw bytes', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const next = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    // A command-line argument cannot hold NUL; everything else goes in as typed.
    const comment = await cli('incidents', 'comment', incidentId, `see ${TRICKS.replace('\x00', '')}`);
    expect(comment.code, comment.out).toBe(0);
    const runs = await Promise.all([
      cli('agents', 'list'),
      cli('agents', 'show', agentId),
      cli('incidents', 'list'),
      cli('incidents', 'show', incidentId),
      cli('incidents', 'show', checkIncidentId),
      cli('audit', '--limit', '20'),
      cli('report', 'quality', '--client', c.clientId, '--from', day, '--to', next, '--format', 'csv'),
      cli('report', 'quality', '--client', c.clientId, '--from', day, '--to', next, '--format', 'html'),
    ]);
    const json = await Promise.all([
      cli('--json', 'agents', 'show', agentId),
      cli('--json', 'incidents', 'show', incidentId),
      cli('--json', 'agents', 'list'),
      cli('report', 'quality', '--client', c.clientId, '--from', day, '--to', next, '--format', 'json'),
    ]);
    for (const r of [comment, ...runs, ...json]) {
      expect(r.code, r.out).toBe(0);
      const at = RAW.exec(r.out);
      expect(at, `raw U+${at?.[0].codePointAt(0)?.toString(16)} in:\n${r.out}`).toBeNull();
    }
    const [agentsList, agentsShow, incList, incShow, checkShow, audit, csv, html] = runs.map((r) => r.stdout);
    // Detection's own incident: the check message and the top process name, shown escaped.
    expect(checkShow).toContain('spooler stopped \\x1b[2J\\x1b[H\\x07\\u200b\\x1b]52;c;');
    expect(checkShow).toContain('evil\\x1b]52;c;cm0gLXJmIC8K\\x07\\u202egnp.exe');
    expect(checkShow).toMatch(/title\s+service check svc-spooler \(spooler\) failing on pc\\x1b\]52/);
    // Shown, escaped: the technician sees that something was there.
    const shown = 'pc\\x1b]52;c;cm0gLXJmIC8K\\x07\\x1b[2J\\x1b[H\\x07\\x00\\u202egpj.exe\\u200b\\u2066\\x9b6n\\x7f';
    for (const out of [agentsList, agentsShow, audit]) expect(out).toContain(shown);
    expect(incList).toContain('\\u202egpj.exe');
    expect(incShow).toContain('process: evil\\x1b]52;c;cm0gLXJmIC8K\\x07');
    expect(incShow).toMatch(/comment: see \\x1b\]52/);
    expect(csv).toContain('svc\\x1b]52');
    expect(html).toContain('\\u202egpj.exe');
    // JSON stays JSON and carries the very same strings.
    expect((JSON.parse(json[0]!.stdout) as { hostname: string }).hostname).toBe(HOSTNAME);
    const shownInc = JSON.parse(json[1]!.stdout) as { incident: { title: string } };
    expect(shownInc.incident.title).toBe(`service down: ${TRICKS}`);
    expect(JSON.parse(json[3]!.stdout)).toBeTypeOf('object');
  }, 60_000);

  it('an error that echoes a hostile id shows it escaped', async () => {
    const r = await cli('agents', 'show', `ag_${OSC52}`);
    expect(r.code).not.toBe(0);
    expect(RAW.exec(r.out)).toBeNull();
  }, 30_000);
});
