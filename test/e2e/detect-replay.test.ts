/**
 * `outpost detect replay --policy` takes the policy file the collector takes (`detection.policyFile`: one policy, a
 * list, or `{ policies: [...] }`, as the README shows it) and applies its default-scope policy; a bad file is a coded
 * error naming the file and the field, and writes no output. Real CLI processes on a generated series.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, tempDir } from '../support/collector.js';

const dir = tempDir('detect-replay');
afterAll(() => dir[Symbol.dispose]());

/** A day and more of minute samples around 20 with a 100-minute jump to ~90 near the end. */
function writeSeries(file: string): void {
  const start = Date.parse('2026-11-01T00:00:00Z');
  const lines = ['timestamp,value'];
  for (let i = 0; i < 3000; i++) {
    const v = 20 + Math.sin(i / 50) * 5 + (i > 2500 && i < 2600 ? 70 : 0);
    lines.push(`${new Date(start + i * 60_000).toISOString()},${v.toFixed(2)}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

async function replay(policyText: string | undefined, name: string) {
  const input = join(dir.path, 'series.csv');
  if (!existsSync(input)) writeSeries(input);
  const out = join(dir.path, `${name}.out.csv`);
  const args = ['detect', 'replay', '--input', input, '--out', out];
  if (policyText !== undefined) {
    const policy = join(dir.path, `${name}.yaml`);
    writeFileSync(policy, policyText);
    args.push('--policy', policy);
  }
  await using p = spawnNode(outpostBin, args, { OUTPOST_CLI_CONFIG: join(dir.path, 'cli.json') });
  const code = await p.exited;
  const rows = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').slice(1) : [];
  const alarms = existsSync(out) ? rows.filter((l) => l.endsWith(',1')).length : undefined;
  const scored = rows.filter((l) => Number(l.split(',')[2]) > 0).length;
  return { code, text: p.stdout() + p.stderr(), alarms, scored, rows, wrote: existsSync(out) };
}

// The README's example policy file, word for word but for the ids.
const README_POLICY = `
- thresholds:
    - { metric: cpu.total_pct, value: 90, clear: 70, forSec: 300 }
    - { metric: "proc.cpu_pct:backup-agent", value: 80, forSec: 600 }
  checks:
    - { id: intranet, kind: http, url: "https://intranet.example/", minTlsDays: 14 }
    - { id: sshd, kind: process, name: sshd }
  inventory: { patchDays: 14, licenceDays: 30, forbiddenSoftware: ["teamviewer*"] }
- siteId: si_0123456789ab # overrides the default for one site
  probes: [{ agentId: ag_0123456789ab, checks: [{ id: printer, kind: ping, host: 10.0.0.9 }] }]
  maintenance: [{ days: [0], start: "02:00", minutes: 120 }]
`;

describe('outpost detect replay --policy', () => {
  it('takes the policy file format the collector takes and applies its default scope', async () => {
    const plain = await replay(undefined, 'plain');
    expect(plain.code, plain.text).toBe(0);
    expect(plain.alarms).toBeGreaterThan(0);

    const readme = await replay(README_POLICY, 'readme');
    expect(readme.code, readme.text).toBe(0);
    expect(readme.alarms).toBe(plain.alarms);

    // The default scope turns the baseline off: no alarm, whichever form the file takes.
    for (const [name, text] of [
      ['list-off', '- baseline: { enabled: false }\n- siteId: si_x\n  baseline: { enabled: true }\n'],
      ['wrapped-off', '{ "policies": [{ "baseline": { "enabled": false } }] }'],
    ] as const) {
      const r = await replay(text, name);
      expect(r.code, r.text).toBe(0);
      expect(r.alarms, name).toBe(0);
      // Still scored, every score a finite number.
      expect(r.scored).toBe(plain.scored);
      expect(r.rows.every((l) => Number.isFinite(Number(l.split(',')[2])))).toBe(true);
    }
    // Turning it off for one site only does not touch a replayed series, which has no site.
    const siteOnly = await replay('- siteId: si_x\n  baseline: { enabled: false }\n', 'site-only');
    expect(siteOnly.code, siteOnly.text).toBe(0);
    expect(siteOnly.alarms).toBe(plain.alarms);
  }, 60_000);

  it('refuses a bad or missing policy file with a coded error and writes nothing', async () => {
    const bad = await replay('- thresholds: [{ metric: cpu.total_pct, value: high }]\n', 'bad');
    expect(bad.code).toBe(1);
    expect(bad.text).toMatch(/OUTPOST_E_POLICY_INVALID: .*bad\.yaml \[policy 0\]: \/thresholds\/0\/value/);
    expect(bad.wrote).toBe(false);

    const input = join(dir.path, 'series.csv');
    const out = join(dir.path, 'missing.out.csv');
    await using p = spawnNode(
      outpostBin,
      ['detect', 'replay', '--input', input, '--out', out, '--policy', join(dir.path, 'nope.yaml')],
      { OUTPOST_CLI_CONFIG: join(dir.path, 'cli.json') },
    );
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(/OUTPOST_E_LOCAL_FILE: .*nope\.yaml: no such file/);
    expect(p.stderr()).not.toMatch(/^\s+at /m);
    expect(existsSync(out)).toBe(false);
  }, 30_000);
});
