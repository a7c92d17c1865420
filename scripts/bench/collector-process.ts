/**
 * A collector in a process of its own for the benchmarks (the bench process measures it or its agents from outside):
 * `outpost serve` from the checkout on a free loopback port, logged in as the first admin it prints.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiTarget, apiCall } from '@outpost/collector';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CollectorProcess {
  child: ChildProcess;
  url: string;
  fingerprint: string | undefined;
  admin: ApiTarget;
  stop(): Promise<void>;
}

/** Starts `outpost serve` with `settings` merged into a loopback configuration under `dir`. */
export async function startCollectorProcess(
  dir: string,
  settings: Record<string, unknown> = {},
  nodeArgs: string[] = [],
): Promise<CollectorProcess> {
  writeFileSync(
    join(dir, 'outpost.json'),
    JSON.stringify({
      dataDir: join(dir, 'data'),
      api: { host: '127.0.0.1', port: 0 },
      tls: { enabled: process.env.BENCH_TLS !== '0' },
      log: { level: 'warn' },
      ...settings,
    }),
  );
  const child = spawn(
    process.execPath,
    [...nodeArgs, join(repoRoot, 'collector/bin/outpost.js'), 'serve', '--config', join(dir, 'outpost.json')],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^\s+password\s+\S+$/m.test(out)) resolve();
    });
    child.once('exit', (c) => reject(new Error(`collector exited ${c} before it was ready:\n${out}`)));
  });
  const url = /API and console\s+(\S+)/.exec(out)![1]!;
  const fingerprint = /SHA-256 ([0-9A-F:]{95})/.exec(out)?.[1];
  const password = /^\s+password\s+(\S+)$/m.exec(out)![1]!;
  const base: ApiTarget = { server: url, caFingerprint: fingerprint };
  const login = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', {
    email: 'admin@outpost.local',
    password,
  });
  return {
    child,
    url,
    fingerprint,
    admin: { ...base, token: login.token },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** A client, a site and an enrollment token for `uses` agents. */
export async function enrollmentToken(admin: ApiTarget, uses: number): Promise<string> {
  const client = await apiCall<{ id: string }>(admin, 'POST', '/api/v1/clients', { name: 'Bench' });
  const site = await apiCall<{ id: string }>(admin, 'POST', `/api/v1/clients/${client.id}/sites`, { name: 'Lab' });
  const token = await apiCall<{ token: string }>(admin, 'POST', '/api/v1/enrollment-tokens', {
    siteId: site.id,
    maxUses: uses,
    expiresInHours: 2,
  });
  return token.token;
}
