/**
 * A collector at its open-files limit (issue 20's "agents held, limited by the per-process file limit"): a built
 * `outpost serve` under `prlimit --nofile=256:256` holds the agents its limit allows, refuses the rest with a coded
 * close that tells them to come back, and keeps serving the agents it holds, its API and /metrics. Before the cap,
 * such a node reset new connections at EMFILE (admins' included) and /metrics failed with EMFILE.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken } from '../../scripts/bench/collector-process.js';
import { forkSimulator, simulatorReply } from '../../scripts/bench/sim-fleet.js';
import { tempDir } from '../support/collector.js';
import { bootstrap, freePort, type ServeInfo, startCollectorProcess } from '../support/process-collector.js';

const OPEN_FILES = 256;
/** agents/capacity.ts keeps 128 descriptors (its minimum) for everything but agents. */
const CAPACITY = OPEN_FILES - 128;
const AGENTS = CAPACITY + 40;

const dir = tempDir('file-limit');
let node: ServeInfo;
let admin: ApiTarget;
beforeAll(async () => {
  node = await startCollectorProcess(join(dir.path, 'data'), await freePort(), [], 60_000, OPEN_FILES);
  admin = (await bootstrap(node, 1)).admin;
}, 90_000);
afterAll(async () => {
  await node?.proc.kill('SIGTERM');
  dir[Symbol.dispose]();
});

const metric = async (name: string) =>
  Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await apiCall<string>(admin, 'GET', '/metrics'))?.[1]);

describe('a collector at its open-files limit', () => {
  it('holds what its limit allows, refuses the rest with 4503 and keeps serving them and its API', async () => {
    expect(await metric('outpost_agents_capacity')).toBe(CAPACITY);
    const sim = forkSimulator({
      url: node.apiUrl,
      token: await enrollmentToken(admin, AGENTS),
      count: AGENTS,
      base: 0,
      source: '127.0.0.200',
      phaseTimeoutMs: 60_000,
    });
    try {
      await simulatorReply(sim, 'simulator (start)', 60_000);
      const enrolled = await simulatorReply(sim, 'simulator', 90_000, () => sim.send({ op: 'enroll' }), 'enroll');
      expect(enrolled.connected).toBe(CAPACITY);
      // Every refused agent was told to retry: no reset, no timeout.
      expect(enrolled.failures).toBe(`close 4503 ×${AGENTS - CAPACITY}`);
      expect(await metric('outpost_agents_connected')).toBe(CAPACITY);
      expect(await metric('outpost_agents_refused_full_total')).toBe(AGENTS - CAPACITY);
      expect(node.proc.stdout()).toMatch(/"code":"OUTPOST_E_UNAVAILABLE".*"capacity":128.*agent refused/);
      // The agents it holds are served: each one's event acknowledged.
      const burst = await simulatorReply(sim, 'simulator', 60_000, () => sim.send({ op: 'burst', events: 1 }), 'burst');
      expect(burst).toMatchObject({ acked: CAPACITY, missing: '' });
      // And its API: a fresh login, the fleet list.
      const login = await apiCall<{ token: string }>(
        { server: node.apiUrl, caFingerprint: node.fingerprint },
        'POST',
        '/api/v1/auth/login',
        { email: 'admin@outpost.local', password: node.password },
      );
      const online = await apiCall<{ total: number }>(
        { ...admin, token: login.token },
        'GET',
        '/api/v1/agents?status=online&limit=1',
      );
      expect(online.total).toBe(CAPACITY);
    } finally {
      sim.kill('SIGKILL');
    }
  }, 180_000);

  it('drops connections past its cap instead of running out of descriptors, and serves again once they close', async () => {
    const url = new URL(node.apiUrl);
    const sockets: Socket[] = [];
    let closedByPeer = 0;
    try {
      // More plain TCP connections than the whole limit: past `maxConnections` the listener closes each at once.
      for (let i = 0; i < OPEN_FILES + 20; i++) {
        const s = connect({ host: url.hostname, port: Number(url.port), localAddress: '127.0.0.201' });
        s.on('error', () => {});
        s.on('close', () => closedByPeer++);
        sockets.push(s);
      }
      const deadline = Date.now() + 30_000;
      while (!/connection dropped/.test(node.proc.stdout()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(node.proc.stdout()).toMatch(/"listener":"api".*connection dropped/);
      expect(closedByPeer).toBeGreaterThan(0);
    } finally {
      for (const s of sockets) s.destroy();
    }
    expect(node.proc.child.exitCode).toBeNull();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await apiCall<string>(admin, 'GET', '/metrics').then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error('/metrics did not answer within 30 s of the connections closing');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(node.proc.stdout()).not.toMatch(/EMFILE/);
  }, 90_000);
});
