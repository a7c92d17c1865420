/**
 * `outpost metrics show` through the real CLI against a real collector (loopback, real SQLite, fake clock) with
 * samples stored by the real metrics sink for an enrolled agent, part rolled up and part still raw: the table's latest
 * value, minimum, maximum and sparkline, `--metric`, `--json`, and who may read a machine's series.
 */
import { type ApiTarget, apiCall } from '@outpost/collector';
import { OutpostError } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, startTestCollector } from '../support/collector.js';
import { enrolledIdentity } from '../support/raw-agent.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
type Series = { metric: string; points: { t: number; n: number; min: number; max: number }[]; last: { value: number } };

describe('outpost metrics show', () => {
  it('prints latest, min, max and a sparkline per metric from rolled-up and raw samples; --metric; --json', async () => {
    const clock = { t: T0, now: () => clock.t };
    await using c = await startTestCollector({}, { clock });
    const { token } = await c.enrollmentToken();
    const { agentId } = await enrolledIdentity(c.agentUrl, token);
    // One hour of rounds 30 s apart: CPU climbs from 0 to 100 %, two volumes, memory in bytes.
    for (let i = 0; i < 120; i++) {
      clock.t = T0 + i * 30_000;
      await c.collector.metricsService.commit([
        {
          agentId,
          msg: {
            type: 'metrics.batch',
            seq: i + 1,
            samples: [
              {
                time: clock.t,
                values: {
                  'cpu.total_pct': (100 * i) / 119,
                  'disk.used_pct:/': 40,
                  'disk.used_pct:/var': 70 + i / 10,
                  'mem.used_bytes': 2 * 1024 ** 3,
                },
              },
            ],
          },
        },
      ]);
      // Roll up two thirds of the way: the rest is read from the raw samples.
      if (i === 80) await c.collector.metricsService.housekeeping();
    }
    clock.t += 10_000;
    const run = (...args: string[]) =>
      spawnNode(outpostBin, [
        '--server',
        c.apiUrl,
        '--token',
        c.admin.token!,
        ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
        ...args,
      ]);

    const table = run('metrics', 'show', agentId);
    expect(await table.exited, table.stderr()).toBe(0);
    const out = table.stdout();
    expect(out).toMatch(/one point per minute/);
    expect(out).toMatch(/^METRIC\s+LAST\s+MIN\s+MAX\s+CHART\s+LAST SAMPLE$/m);
    const cpu = out.split('\n').find((l) => l.startsWith('cpu.total_pct'))!;
    expect(cpu).toMatch(/^cpu\.total_pct\s+100\.0 %\s+0\.0 %\s+100\.0 %\s+/);
    const chart = /[▁▂▃▄▅▆▇█ ]{40}/u.exec(cpu)![0];
    expect(chart.trim().startsWith('▁')).toBe(true);
    expect(chart.trim().endsWith('█')).toBe(true);
    expect(out).toMatch(/^mem\.used_bytes\s+2\.0 GiB/m);

    const disks = run('metrics', 'show', agentId, '--metric', 'disk.used_pct', '--since', '30m');
    expect(await disks.exited).toBe(0);
    const rows = disks
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('disk.'));
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['disk.used_pct:/', 'disk.used_pct:/var']);
    expect(rows[1]).toMatch(/81\.9 %/);

    const json = run('--json', 'metrics', 'show', agentId, '--metric', 'cpu.total_pct');
    expect(await json.exited).toBe(0);
    const r = JSON.parse(json.stdout()) as { resolution: string; series: Series[] };
    expect(r.resolution).toBe('minute');
    expect(r.series.map((s) => s.metric)).toEqual(['cpu.total_pct']);
    const points = r.series[0]!.points;
    // Every sample counted once, whether it came from a roll-up or from the raw tail.
    expect(points).toHaveLength(60);
    expect(points.reduce((a, p) => a + p.n, 0)).toBe(120);
    expect(r.series[0]!.last.value).toBe(100);

    // A technician of the client reads them; another client's admin finds no such agent; bad input is refused.
    const other = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/clients', { name: 'Globex' });
    const userOf = async (clientId: string, role: string): Promise<ApiTarget> => {
      const email = `${role}-${clientId}@acme.test`;
      const password = 'correct horse battery staple';
      await apiCall(c.admin, 'POST', '/api/v1/users', { email, name: role, password, roles: [{ role, clientId }] });
      return {
        ...c.admin,
        token: (await apiCall<{ token: string }>(c.admin, 'POST', '/api/v1/auth/login', { email, password })).token,
      };
    };
    const tier1 = await userOf(c.clientId, 'tier1');
    const seen = await apiCall<{ series: Series[] }>(
      tier1,
      'GET',
      `/api/v1/agents/${agentId}/metrics?metric=mem.used_bytes`,
    );
    expect(seen.series).toHaveLength(1);
    const outsider = await userOf(other.id, 'admin');
    const refusal = async (t: ApiTarget, path: string) =>
      apiCall(t, 'GET', path).then(
        () => 'allowed',
        (e: unknown) => (e as OutpostError).code,
      );
    expect(await refusal(outsider, `/api/v1/agents/${agentId}/metrics`)).toBe('OUTPOST_E_NOT_FOUND');
    expect(await refusal(c.admin, '/api/v1/agents/ag_nope/metrics')).toBe('OUTPOST_E_NOT_FOUND');
    expect(await refusal(c.admin, `/api/v1/agents/${agentId}/metrics?since=5`)).toBe('OUTPOST_E_BAD_REQUEST');
    const bad = run('metrics', 'show', agentId, '--since', 'yesterday');
    expect(await bad.exited).not.toBe(0);
    expect(bad.stderr()).toContain('expected a duration such as 30m');
    expect(OutpostError).toBeDefined();
  });
});
