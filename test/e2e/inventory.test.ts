/**
 * Inventory end to end with real processes: the agent's first inventory reaches the collector (packages equal
 * `dpkg-query -W` here), a restart with nothing changed sends (almost) nothing, and a technician's refresh makes the
 * agent send full snapshots again.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { apiCall } from '@outpost/collector';
import { describe, expect, it } from 'vitest';
import { agentInstall, enrollAgent, runAgent } from '../support/agent.js';
import { ProcessCleanup, tempDir } from '../support/collector.js';
import { bootstrap, freePort, startCollectorProcess } from '../support/process-collector.js';

type Inv = {
  device: { hostname: string };
  probes: { probe: string; rows: Record<string, unknown>[]; hash: string; errorCode: string | null }[];
};
type RunLog = { reason: string; probes: number; sets: number; messages: number; bytes: number };

const runs = (stderr: string): RunLog[] =>
  stderr
    .split('\n')
    .filter((l) => l.includes('"inventory":{'))
    .map((l) => (JSON.parse(l) as { inventory: RunLog }).inventory);

describe.runIf(process.platform === 'linux' && existsSync('/usr/bin/dpkg-query'))('inventory end to end', () => {
  it('reports the first inventory, sends almost nothing when unchanged, and answers a refresh', async () => {
    using dir = tempDir('e2e-inventory');
    await using cleanup = new ProcessCleanup();
    const serve = await startCollectorProcess(`${dir.path}/collector`, await freePort());
    cleanup.defer(() => serve.proc.kill('SIGKILL'));
    const { admin, token } = await bootstrap(serve);
    const install = agentInstall(`${dir.path}/agent`, { inventory: true });
    const enrolled = await enrollAgent(install, serve.apiUrl, token, serve.fingerprint);
    expect(enrolled.code).toBe(0);
    const agentId = /enrolled as (ag_[0-9a-f]{24})/.exec(enrolled.out)![1]!;

    const agent1 = cleanup.use(runAgent(install));
    await agent1.waitFor(/"inventory":\{"reason":"initial"/, 30_000);
    const dpkg = execFileSync('dpkg-query', ['-W'], { encoding: 'utf8' }).trim().split('\n').length;
    const read = () => apiCall<Inv>(admin, 'GET', `/api/v1/agents/${agentId}/inventory`);
    await expect
      .poll(
        async () =>
          (await read().catch(() => undefined))?.probes
            .find((p) => p.probe === 'installed_software')
            ?.rows.filter((r) => r.source === 'dpkg').length,
        { timeout: 20_000 },
      )
      .toBe(dpkg);
    const first = runs(agent1.stderr())[0]!;
    expect(first.sets).toBeGreaterThanOrEqual(10);
    expect(first.bytes).toBeGreaterThan(10_000);
    const before = await read();

    // Restart with nothing changed: the re-run sends at most a small diff (free space may move).
    await agent1.kill('SIGTERM');
    const agent2 = cleanup.use(runAgent(install));
    await agent2.waitFor(/"inventory":\{"reason":"scheduled"/, 30_000);
    const rerun = runs(agent2.stderr())[0]!;
    expect(rerun.bytes).toBeLessThanOrEqual(1024);
    const after = await read();
    const hash = (i: Inv, p: string) => i.probes.find((x) => x.probe === p)?.hash;
    expect(hash(after, 'installed_software')).toBe(hash(before, 'installed_software'));

    // A technician's refresh: the collector sends inventory.request; the agent answers with full snapshots.
    await apiCall(admin, 'POST', `/api/v1/agents/${agentId}/inventory/refresh`, { probes: ['cpu', 'memory'] });
    await agent2.waitFor(/"inventory":\{"reason":"request","probes":2,"sets":2/, 20_000);
    const history = await apiCall<{ changes: unknown[] }>(admin, 'GET', `/api/v1/agents/${agentId}/inventory/history`);
    expect(history.changes).toEqual([]); // a full snapshot of unchanged rows is not a change

    // Inventory switched off on the machine: a refresh is answered with a coded error per probe, and the rows stay.
    await agent2.kill('SIGTERM');
    const agent3 = cleanup.use(runAgent({ ...install, env: { ...install.env, OUTPOST_INVENTORY: 'off' } }));
    await agent3.waitFor(/inventory disabled by configuration/, 20_000);
    await expect
      .poll(
        async () => {
          await apiCall(admin, 'POST', `/api/v1/agents/${agentId}/inventory/refresh`, { probes: ['cpu'] });
          return (await read()).probes.find((p) => p.probe === 'cpu')?.errorCode;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe('OUTPOST_E_INVENTORY_DISABLED');
    expect((await read()).probes.find((p) => p.probe === 'cpu')?.rows.length).toBe(1);
  });
});
