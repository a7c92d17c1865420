/**
 * The checks component takes a pushed list once, keeps it in the state directory, runs it, and refuses a list that
 * arrives after its expiry (a held-up message must not replace what runs). Expiry is judged on the agent's clock,
 * which these tests drive instead of waiting for a list to expire.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChecksPolicy, SequencedBody } from '@outpost/shared';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../config/index.js';
import type { AgentContext } from '../runtime/commands.js';
import { ChecksComponent } from './component.js';

describe('checks component', () => {
  let dir = '';
  let server: Server;
  let port = 0;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-checks-'));
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise((r) => server.close(r));
  });

  const T0 = 1_800_000_000_000;
  const harness = () => {
    const reports: SequencedBody[] = [];
    const lines: { msg: string }[] = [];
    const clock = { t: T0, now: () => clock.t };
    const ctx: AgentContext = {
      config: { stateDir: dir, agentId: 'ag_000000000000000000000001' } as AgentConfig,
      logger: pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) }),
      clock,
      report: async (b) => reports.push(b),
    };
    const comp = new ChecksComponent();
    comp.start(ctx);
    return { comp, reports, lines, clock };
  };
  const list = (id: string, expiresAt: number): ChecksPolicy => ({
    type: 'checks.policy',
    id,
    expiresAt,
    checks: [{ id: 'port', kind: 'tcp', host: '127.0.0.1', port, intervalSec: 60, timeoutMs: 1000 }],
  });

  it('runs a fresh list, keeps it on disk, and reports the results', async () => {
    const h = harness();
    h.comp.policy(list('p1', T0 + 60_000));
    expect(JSON.parse(readFileSync(join(dir, 'checks.json'), 'utf8')).id).toBe('p1');
    await expect.poll(() => h.reports.length, { timeout: 5000 }).toBeGreaterThan(0);
    const r = h.reports[0] as unknown as { type: string; results: { checkId: string; ok: boolean }[] };
    expect(r.type).toBe('checks.results');
    expect(r.results[0]).toMatchObject({ checkId: 'port', ok: true });
    h.comp.stop();
  });

  it('ignores a list that arrives expired: nothing saved, nothing run, a warning says why', async () => {
    const h = harness();
    // The list was valid until T0 + 1 s; it arrives when the agent's clock reads T0 + 2 s.
    h.clock.t = T0 + 2000;
    h.comp.policy(list('old', T0 + 1000));
    expect(existsSync(join(dir, 'checks.json'))).toBe(false);
    expect(h.lines.some((l) => /expired before it arrived/.test(l.msg))).toBe(true);
    // Nothing was scheduled: applying a list (the only way a check runs) logs "checks list applied" synchronously.
    expect(h.lines.some((l) => /checks list applied/.test(l.msg))).toBe(false);
    // The same list pushed while the clock still reads before its expiry is taken: the clock alone decided.
    h.clock.t = T0 + 999;
    h.comp.policy(list('old', T0 + 1000));
    expect(JSON.parse(readFileSync(join(dir, 'checks.json'), 'utf8')).id).toBe('old');
    expect(h.lines.some((l) => /checks list applied/.test(l.msg))).toBe(true);
    h.comp.stop();
  });
});
