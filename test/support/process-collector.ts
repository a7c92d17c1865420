/** A collector run as a real `outpost serve` process, for tests that kill it. */
import { createServer } from 'node:net';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { outpostBin, type Proc, spawnNode } from './collector.js';

/** A free loopback TCP port (briefly bound, then released so the collector can bind it again after a restart). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** What `outpost serve` printed. */
export interface ServeInfo {
  proc: Proc;
  apiUrl: string;
  fingerprint: string;
  password?: string | undefined;
}

/**
 * Starts `outpost serve` on a data dir and port (plus `extraArgs`, e.g. `--config`) and waits until it listens
 * (`readyTimeoutMs`: a test starting several processes on a loaded machine may need more than the default).
 */
export async function startCollectorProcess(
  dataDir: string,
  port: number,
  extraArgs: string[] = [],
  readyTimeoutMs = 30_000,
  /** The process's open-files limit (soft and hard); inherited when unset. */
  openFiles?: number,
): Promise<ServeInfo> {
  const proc = spawnNode(
    outpostBin,
    [
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    {},
    openFiles,
  );
  const m = await proc.waitFor(/API and console\s+(\S+)[\s\S]*SHA-256 ([0-9A-F:]{95})/, readyTimeoutMs);
  const password = /^\s+password\s+(\S+)$/m.exec(proc.stdout())?.[1];
  return { proc, apiUrl: m[1]!, fingerprint: m[2]!, password };
}

/** Logs in as the initial admin and creates a client, a site and an enrollment token. */
export async function bootstrap(
  info: ServeInfo,
  tokenUses = 5,
): Promise<{ admin: ApiTarget; siteId: string; clientId: string; token: string }> {
  const base: ApiTarget = { server: info.apiUrl, caFingerprint: info.fingerprint };
  const login = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', {
    email: 'admin@outpost.local',
    password: info.password,
  });
  const admin = { ...base, token: login.token };
  const client = await apiCall<{ id: string }>(admin, 'POST', '/api/v1/clients', { name: 'Crash Test Client' });
  const site = await apiCall<{ id: string }>(admin, 'POST', `/api/v1/clients/${client.id}/sites`, { name: 'Lab' });
  const t = await apiCall<{ token: string }>(admin, 'POST', '/api/v1/enrollment-tokens', {
    siteId: site.id,
    maxUses: tokenUses,
  });
  return { admin, siteId: site.id, clientId: client.id, token: t.token };
}
