/**
 * `outpost-agent request` from a running agent (docs/0014-requests.md), real processes on loopback: an in-process
 * collector, a real `outpost-agent run`, and the `request` command run as the logged-in users it would be run as.
 * The ticket lands in the queue with channel agent, the machine, the user the OS proved (root, and `nobody` in a
 * second process), a fresh snapshot, the machine's recent detection incident linked, triage and the VIP flag from
 * the directory; `--status` follows the ticket; a user cannot see another user's ticket, cannot claim to be someone
 * else, cannot skip the proof; oversized text is refused and files nothing.
 */
import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProof } from '../../agent/src/requests/proof.js';
import { agentInstall, enrollAgent, runAgent } from '../support/agent.js';
import { agentBin, type Proc, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { until } from '../support/supervised-agent.js';

type Json = Record<string, unknown>;
const NOBODY = { uid: 65534, gid: 65534 };
const asRoot = process.getuid?.() === 0;
/**
 * The second user must be able to run this Node: on CI's Node 24 pass the binary sits under root's private home
 * (/root is 0700), so `nobody` cannot start it at all. Every directory above it searchable by others, the file
 * executable by others.
 */
function othersCanRun(file: string): boolean {
  try {
    if ((statSync(file).mode & 0o001) === 0) return false;
    for (let d = dirname(file); ; d = dirname(d)) {
      if ((statSync(d).mode & 0o001) === 0) return false;
      if (d === dirname(d)) return true;
    }
  } catch {
    return false;
  }
}
const secondUser = asRoot && othersCanRun(process.execPath);

let c: TestCollector;
let agent: Proc;
let agentId: string;
let env: Record<string, string>;
let reqDir: string;
let detectionId: string;
const dir = tempDir('e2e-requests');

/** Runs `outpost-agent request …` to its end, as this process's user or as another one. */
function request(args: string[], as?: { uid: number; gid: number }) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [agentBin, 'request', ...args], {
      env: { ...process.env, ...env, ...(as ? { HOME: '/nonexistent' } : {}) },
      ...(as ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // A process that cannot start at all emits 'error' and no 'close'.
    child.on('error', (e) => resolve({ code: null, out, err: `${err}${String(e)}` }));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** Speaks the local channel by hand: `prove` creates the proof file or not, `ask` is sent as given. */
function raw(ask: unknown, prove: boolean) {
  return new Promise<Json>((resolve, reject) => {
    const sock = connect(join(reqDir, 'request.sock'));
    let buf = '';
    let lines = 0;
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as Json;
        buf = buf.slice(nl + 1);
        if (++lines === 1) {
          if (prove) createProof(msg.dir as string, msg.proof as string);
          sock.write(`${JSON.stringify(ask)}\n`);
        } else {
          sock.end();
          resolve(msg);
        }
      }
    });
  });
}

const ticketOf = (out: string) => /ticket\s+(in_[0-9a-f]+)/.exec(out)?.[1];

beforeAll(async () => {
  // The temp dir must be reachable by `nobody` (mkdtemp makes it 0700) for the channel under it.
  chmodSync(dir.path, 0o755);
  c = await startTestCollector();
  const install = agentInstall(join(dir.path, 'agent'));
  reqDir = join(dir.path, 'req');
  env = { ...install.env, OUTPOST_AGENT_REQUEST_DIR: reqDir };
  install.env.OUTPOST_AGENT_REQUEST_DIR = reqDir;
  const { token } = await c.enrollmentToken();
  const enrolled = await enrollAgent(install, c.agentUrl, token, c.fingerprint);
  expect(enrolled.code, enrolled.err).toBe(0);
  agentId = /enrolled as (ag_[0-9a-f]{24})/.exec(enrolled.out)![1]!;
  agent = runAgent(install);
  await agent.waitFor(/request channel listening/, 20_000);
  await until(
    async () => (await apiCall<{ status: string }>(c.admin, 'GET', `/api/v1/agents/${agentId}`)).status === 'online',
    20_000,
    'the agent online',
  );
  // A detection incident on the machine an hour before: the request links it.
  const now = Date.now();
  detectionId = (
    await c.collector.incidents.raise({
      key: `disk:${agentId}:/`,
      clientId: c.clientId,
      siteId: c.siteId,
      agentIds: [agentId],
      source: 'threshold',
      rule: 'disk_used_pct',
      type: 'disk',
      criticality: 'P3',
      tier: 1,
      failureTime: now - 3_600_000,
      detectedAt: now - 3_600_000,
      title: 'Disk / almost full',
      explanation: 'disk.used_pct:/ above 90 % for 10 minutes',
    })
  ).incidentId;
  await apiCall(c.admin, 'POST', `/api/v1/clients/${c.clientId}/requesters`, {
    name: 'The Boss',
    vip: true,
    handles: [`login:${userInfo().username}`],
  });
  await apiCall(c.admin, 'POST', `/api/v1/clients/${c.clientId}/triage-rules`, {
    keywords: ['printer'],
    type: 'printer',
    criticality: 'P3',
  });
}, 60_000);

afterAll(async () => {
  await agent?.kill('SIGKILL');
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe('outpost-agent request', () => {
  let rootTicket: string;

  it('files a ticket stamped with the proved user, the machine, a snapshot and the related detection incident', async () => {
    const r = await request(['Printer <b>offline</b> on floor 2']);
    expect(r.code, r.err).toBe(0);
    rootTicket = ticketOf(r.out)!;
    expect(rootTicket).toMatch(/^in_/);
    expect(r.out).toMatch(/status\s+open/);
    const shown = await apiCall<{ incident: Json }>(c.admin, 'GET', `/api/v1/incidents/${rootTicket}`);
    expect(shown.incident).toMatchObject({
      channel: 'agent',
      agentIds: [agentId],
      type: 'printer',
      // P3 from the rule, one step up for the VIP.
      criticality: 'P2',
      title: 'Workstation request from The Boss: Printer <b>offline</b> on floor 2',
    });
    const req = await apiCall<Json>(c.admin, 'GET', `/api/v1/incidents/${rootTicket}/request`);
    expect(req).toMatchObject({
      channel: 'agent',
      agentId,
      osUser: userInfo().username,
      requesterName: 'The Boss',
      vip: true,
      related: [detectionId],
    });
    const snap = req.snapshot as {
      memory: { totalBytes: number };
      disks: unknown[];
      topProcesses: unknown[];
      recentChanges: unknown[];
    };
    expect(snap.memory.totalBytes).toBeGreaterThan(0);
    expect(snap.disks.length).toBeGreaterThan(0);
    if (process.platform === 'linux') expect(snap.topProcesses.length).toBeGreaterThan(0);
    expect(Array.isArray(snap.recentChanges)).toBe(true);
  });

  it('--status follows the ticket as the desk works it', async () => {
    await apiCall(c.admin, 'POST', `/api/v1/incidents/${rootTicket}/ack`, {});
    const r = await request(['--status', rootTicket]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/status\s+acknowledged/);
    expect(r.out).toContain(rootTicket);
  });

  it("weighs the machine's criticality: a machine tagged critical raises the ticket one more step", async () => {
    await apiCall(c.admin, 'POST', `/api/v1/agents/${agentId}/tags`, { add: ['critical'] });
    try {
      const r = await request(['printer jammed again']);
      expect(r.code, r.err).toBe(0);
      const id = ticketOf(r.out)!;
      const shown = await apiCall<{ incident: Json }>(c.admin, 'GET', `/api/v1/incidents/${id}`);
      // P3 from the rule, one step for the VIP, one for the critical machine.
      expect(shown.incident).toMatchObject({ type: 'printer', criticality: 'P1' });
      const req = await apiCall<Json>(c.admin, 'GET', `/api/v1/incidents/${id}/request`);
      expect(req.triage).toMatchObject({ vipRaised: true, machineRaised: true });
    } finally {
      await apiCall(c.admin, 'POST', `/api/v1/agents/${agentId}/tags`, { remove: ['critical'] });
    }
  });

  it.skipIf(!secondUser)(
    "stamps another OS user as that user, who cannot see root's ticket (skipped unless run as root with a Node others can run: needs a second uid)",
    async () => {
      const r = await request(['my screen stays black'], NOBODY);
      expect(r.code, r.err).toBe(0);
      const id = ticketOf(r.out)!;
      const req = await apiCall<Json>(c.admin, 'GET', `/api/v1/incidents/${id}/request`);
      expect(req).toMatchObject({ osUser: 'nobody', requesterName: 'nobody', vip: false, agentId });
      const theirs = await request(['--status', id], NOBODY);
      expect(theirs.out).toMatch(/status\s+open/);
      const mine = await request(['--status', rootTicket], NOBODY);
      expect(mine.code).toBe(1);
      expect(mine.err).toContain('OUTPOST_E_NOT_FOUND');
    },
  );

  it('refuses a claimed user, a caller that does not prove itself, and oversized text; nothing is filed', async () => {
    const before = (await apiCall<{ total: number }>(c.admin, 'GET', '/api/v1/incidents')).total;
    const claimed = await raw({ op: 'file', text: 'hello', user: 'ceo' }, true);
    expect(claimed).toMatchObject({ ok: false, code: 'OUTPOST_E_BAD_REQUEST' });
    const unproved = await raw({ op: 'file', text: 'hello' }, false);
    expect(unproved).toMatchObject({ ok: false, code: 'OUTPOST_E_REQUEST_PROOF' });
    const huge = await request(['x'.repeat(10_001)]);
    expect(huge.code).toBe(1);
    expect(huge.err).toContain('OUTPOST_E_BAD_REQUEST');
    const empty = await request([]);
    expect(empty.err).toContain('OUTPOST_E_BAD_REQUEST');
    expect((await apiCall<{ total: number }>(c.admin, 'GET', '/api/v1/incidents')).total).toBe(before);
    // The proofs of refused callers do not pile up.
    expect(readdirSync(join(reqDir, 'request-proofs'))).toEqual([]);
  });
});
