/** Test resources for remote shell tests: a real agent process enrolled, configured for shells, and online. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiTarget, apiCall, ShellClient } from '@outpost/collector';
import { type AgentInstall, agentInstall, enrollAgent, runAgent } from './agent.js';
import type { Proc, TestCollector } from './collector.js';

/** A running agent ready for shell sessions. */
export interface ShellAgent {
  install: AgentInstall;
  agentId: string;
  proc: Proc;
}

/** Enrolls an agent in `dir`, adds shell settings (non-elevated sessions run as `nobody`), runs it, waits online. */
export async function startShellAgent(
  c: Pick<TestCollector, 'agentUrl' | 'fingerprint' | 'admin' | 'enrollmentToken'>,
  dir: string,
  extra: Record<string, unknown> = {},
): Promise<ShellAgent> {
  const install = agentInstall(dir);
  const { token } = await c.enrollmentToken();
  const r = await enrollAgent(install, c.agentUrl, token, c.fingerprint);
  if (r.code !== 0) throw new Error(`enroll failed: ${r.err}`);
  const config = JSON.parse(readFileSync(install.configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    install.configFile,
    JSON.stringify({
      ...config,
      shell: { user: 'nobody', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'] },
      ...extra,
    }),
  );
  const proc = runAgent(install);
  const agentId = config.agentId as string;
  await waitOnline(c.admin, agentId);
  return { install, agentId, proc };
}

/** Polls until the agent shows online. */
export async function waitOnline(admin: ApiTarget, agentId: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const a = await apiCall<{ status: string }>(admin, 'GET', `/api/v1/agents/${agentId}`);
    if (a.status === 'online') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`agent ${agentId} did not come online`);
}

/** Collects a session's output and waits for patterns in it. */
export class OutputBuffer {
  text = '';
  #waiters = new Set<() => void>();
  push = (d: Buffer): void => {
    this.text += d.toString('utf8');
    for (const w of this.#waiters) w();
  };
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.text.match(re);
        if (m) {
          done();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${re}; output so far:\n${this.text.slice(-2000)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

/** True while a process exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A user with one role on the test client, logged in (API token). */
export async function technician(c: TestCollector, role: string): Promise<ApiTarget> {
  const email = `${role}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await apiCall(c.admin, 'POST', '/api/v1/users', {
    email,
    name: role,
    password: 'pw-long-enough-1',
    roles: [{ role, clientId: c.clientId }],
  });
  const login = await apiCall<{ token: string }>(
    { server: c.apiUrl, caFingerprint: c.fingerprint },
    'POST',
    '/api/v1/auth/login',
    { email, password: 'pw-long-enough-1' },
  );
  return { server: c.apiUrl, caFingerprint: c.fingerprint, token: login.token };
}

/** Audit events, newest first. */
export async function auditEvents(
  admin: ApiTarget,
): Promise<
  { type: string; code: string; result: string; sessionId: string | null; details: Record<string, unknown> | null }[]
> {
  const r = await apiCall<{
    events: {
      type: string;
      code: string;
      result: string;
      sessionId: string | null;
      details: Record<string, unknown> | null;
    }[];
  }>(admin, 'GET', '/api/v1/audit?limit=1000');
  return r.events;
}

/** The environment of an `outpost` CLI process acting as `as` (its config file a fresh one in `dir`). */
export function cliEnv(as: ApiTarget, dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OUTPOST_CLI_CONFIG: join(dir, `cli-${Math.random().toString(36).slice(2)}.json`),
    OUTPOST_SERVER: as.server,
    OUTPOST_TOKEN: as.token ?? '',
    ...(as.caFingerprint ? { OUTPOST_CA_FINGERPRINT: as.caFingerprint } : {}),
  };
}

/** Opens a shell on `agentId` through the node `admin` points at, its output collected. */
export async function openShell(admin: ApiTarget, agentId: string) {
  const s = await ShellClient.open(admin, agentId);
  const out = new OutputBuffer();
  s.onData(out.push);
  return { s, out };
}

/** One command round trip (`echo` typed, its output read) on an open shell, in ms. */
async function roundTrip(sh: Awaited<ReturnType<typeof openShell>>, i: number): Promise<number> {
  sh.out.text = '';
  const t0 = performance.now();
  // The typed line reads `R$((i))`: only the output holds `R<i>` (bash also wraps it in bracketed-paste codes).
  sh.s.write(`echo R$((${i}))\n`);
  await sh.out.waitFor(new RegExp(`R${i}\\r?\\n`));
  return performance.now() - t0;
}

/**
 * Median and 95th percentile of `n` round trips on each of two shells to one agent, taken in turn (one on one
 * shell, one on the other) so both see the same machine load; ten rounds each of warm-up first, not counted.
 */
export async function echoLatency(agentId: string, n: number, admins: { same: ApiTarget; cross: ApiTarget }) {
  const shells = { same: await openShell(admins.same, agentId), cross: await openShell(admins.cross, agentId) };
  const ms = { same: [] as number[], cross: [] as number[] };
  for (let i = -10; i < n; i++)
    for (const k of ['same', 'cross'] as const) {
      const t = await roundTrip(shells[k], i);
      if (i >= 0) ms[k].push(t);
    }
  const stats = (xs: number[]) => {
    xs.sort((x, y) => x - y);
    return { p50: +xs[Math.floor(n / 2)]!.toFixed(1), p95: +xs[Math.floor(n * 0.95)]!.toFixed(1) };
  };
  for (const sh of Object.values(shells)) {
    sh.s.write('exit\n');
    await sh.s.ended;
  }
  return { same: stats(ms.same), cross: stats(ms.cross) };
}
