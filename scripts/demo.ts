/**
 * `pnpm demo`: a collector on embedded SQLite plus an agent on this machine, enrolled to it. State lives in
 * `.demo/` so a second run reuses it (delete the folder to start over). Ctrl-C stops both.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiTarget, apiCall } from '@outpost/collector';

const root = fileURLToPath(new URL('../', import.meta.url));
const demoDir = join(root, '.demo');
const stateFile = join(demoDir, 'demo.json');
const outpost = join(root, 'collector/bin/outpost.js');
const agentBin = join(root, 'agent/bin/outpost-agent.js');
const agentEnv = {
  ...process.env,
  OUTPOST_AGENT_CONFIG: join(demoDir, 'agent', 'agent.json'),
  OUTPOST_AGENT_STATE: join(demoDir, 'agent', 'state'),
};

interface DemoState {
  port: number;
  email: string;
  password: string;
  fingerprint: string;
}

const children: ChildProcess[] = [];
function stopAll(code = 0): never {
  for (const c of children) c.kill('SIGTERM');
  process.exit(code);
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function pickPort(): Promise<number> {
  for (const p of [8443, 9443, 10443, 18443]) if (await portFree(p)) return p;
  throw new Error('no free port among 8443, 9443, 10443, 18443');
}

function startCollector(port: number): Promise<{ url: string; fingerprint: string; password?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        outpost,
        'serve',
        '--data-dir',
        join(demoDir, 'collector'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--log-level',
        'warn',
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /API and console\s+(\S+)/.exec(out)?.[1];
      const fingerprint = /SHA-256 ([0-9A-F:]{95})/.exec(out)?.[1];
      if (
        url &&
        fingerprint &&
        /agents enroll with/.test(out) &&
        (!/First start/.test(out) || /^\s+password\s+\S+$/m.test(out))
      ) {
        resolve({ url, fingerprint, password: /^\s+password\s+(\S+)$/m.exec(out)?.[1] });
      }
    });
    child.once('exit', (code) => reject(new Error(`the collector exited with ${code}`)));
  });
}

function runToEnd(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [agentBin, ...args], { env: agentEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`outpost-agent ${args[0]} failed:\n${err}`)),
    );
  });
}

async function main(): Promise<void> {
  mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  const saved: DemoState | undefined = existsSync(stateFile)
    ? (JSON.parse(readFileSync(stateFile, 'utf8')) as DemoState)
    : undefined;
  const port = saved?.port ?? (await pickPort());
  const started = await startCollector(port);
  const state: DemoState = saved ?? {
    port,
    email: 'admin@outpost.local',
    password: started.password ?? '',
    fingerprint: started.fingerprint,
  };
  if (!saved) writeFileSync(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });

  const base: ApiTarget = { server: started.url, caFingerprint: started.fingerprint };
  const login = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', {
    email: state.email,
    password: state.password,
  });
  const admin: ApiTarget = { ...base, token: login.token };

  const clients = await apiCall<{ clients: { id: string; name: string }[] }>(admin, 'GET', '/api/v1/clients');
  const client =
    clients.clients.find((c) => c.name === 'Demo') ??
    (await apiCall<{ id: string; name: string }>(admin, 'POST', '/api/v1/clients', { name: 'Demo' }));
  const sites = await apiCall<{ sites: { id: string; name: string }[] }>(
    admin,
    'GET',
    `/api/v1/clients/${client.id}/sites`,
  );
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const site =
    sites.sites.find((s) => s.name === 'This machine') ??
    (await apiCall<{ id: string }>(admin, 'POST', `/api/v1/clients/${client.id}/sites`, {
      name: 'This machine',
      timezone: zone,
    }));

  if (!existsSync(agentEnv.OUTPOST_AGENT_CONFIG)) {
    const token = await apiCall<{ token: string }>(admin, 'POST', '/api/v1/enrollment-tokens', {
      siteId: site.id,
      maxUses: 1,
      expiresInHours: 1,
      note: 'demo',
    });
    await runToEnd([
      'enroll',
      '--server',
      started.url,
      '--token',
      token.token,
      '--ca-fingerprint',
      started.fingerprint,
      '--state-dir',
      agentEnv.OUTPOST_AGENT_STATE,
    ]);
  }
  const agentConfig = JSON.parse(readFileSync(agentEnv.OUTPOST_AGENT_CONFIG, 'utf8')) as { agentId: string };
  const agent = spawn(process.execPath, [agentBin, 'run'], { env: agentEnv, stdio: ['ignore', 'inherit', 'ignore'] });
  children.push(agent);
  agent.once('exit', (code) => {
    process.stderr.write(`the demo agent exited with ${code}\n`);
    stopAll(1);
  });

  let shown: { hostname: string; status: string; os: { distro: string; release: string } } | undefined;
  for (let i = 0; i < 100; i++) {
    shown = await apiCall<typeof shown & object>(admin, 'GET', `/api/v1/agents/${agentConfig.agentId}`);
    if (shown.status === 'online') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write(
    [
      '',
      'Outpost demo is running (Ctrl-C to stop; state in .demo/).',
      `  collector     ${started.url}`,
      `  certificate   SHA-256 ${started.fingerprint}`,
      `  admin         ${state.email} / ${state.password}`,
      `  agent         ${agentConfig.agentId}  ${shown?.hostname} (${shown?.os.distro} ${shown?.os.release})  ${shown?.status}`,
      '',
      'Try the CLI:',
      `  node collector/bin/outpost.js login --server ${started.url} --email ${state.email} --ca-fingerprint ${started.fingerprint} --password '${state.password}'`,
      '  node collector/bin/outpost.js agents list',
      '  node collector/bin/outpost.js audit',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  stopAll(1);
});
