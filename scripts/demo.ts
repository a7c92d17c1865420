/**
 * `pnpm demo`: a collector on embedded SQLite plus an agent on this machine, enrolled to it, set up so that the
 * printed `outpost shell` and `outpost cp` commands work as printed, also as root (the usual case on a server):
 * ordinary sessions run as a dedicated unprivileged user (`outpost-demo`, created with `useradd --system` when
 * missing; the current user when not root) and file transfers are confined to `.demo/files`. State lives in
 * `.demo/` so a second run reuses it (delete the folder to start over). Ctrl-C stops the agent and the collector,
 * waits for both, and exits 0.
 *
 * Environment (for tests and several demos side by side): OUTPOST_DEMO_DIR (state folder), OUTPOST_DEMO_PORT
 * (collector port on a first run), OUTPOST_DEMO_USER (shell user when root).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAgentConfig } from '@outpost/agent';
import { type ApiTarget, apiCall } from '@outpost/collector';

const root = fileURLToPath(new URL('../', import.meta.url));
const demoDir = resolve(root, process.env.OUTPOST_DEMO_DIR || '.demo');
const stateFile = join(demoDir, 'demo.json');
const filesDir = join(demoDir, 'files');
const outpost = join(root, 'collector/bin/outpost.js');
const agentBin = join(root, 'agent/bin/outpost-agent.js');
const agentConfigFile = join(demoDir, 'agent', 'agent.json');
const agentEnv = {
  ...process.env,
  OUTPOST_AGENT_CONFIG: agentConfigFile,
  OUTPOST_AGENT_STATE: join(demoDir, 'agent', 'state'),
};
const isRoot = process.platform !== 'win32' && process.getuid?.() === 0;

interface DemoState {
  port: number;
  email: string;
  password: string;
  fingerprint: string;
}

// ---- children and Ctrl-C ---------------------------------------------------------------------------------------

const children: ChildProcess[] = [];
let stopping: Promise<never> | undefined;

/**
 * Stops every child (the agent first, then the collector), waits for each to exit (SIGKILL after 10 s), then exits
 * with `code`. A terminal's Ctrl-C reaches the children too, and pnpm forwards a second SIGINT: stopping is
 * idempotent, and a child exiting meanwhile is expected, not a failure. Exiting 0 here is what keeps pnpm from
 * printing `ELIFECYCLE Command failed`, with nothing in between: the script `exec`s (a `sh -c` that gets SIGINT
 * dies of it whatever its child does) and loads TypeScript with `node --import tsx` (the `tsx` launcher
 * SIGKILLs a child that has not acknowledged a signal within 30 ms, which a loaded machine misses).
 */
function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    process.exit(code);
  })();
  return stopping;
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

// ---- the collector ---------------------------------------------------------------------------------------------

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function pickPort(): Promise<number> {
  if (process.env.OUTPOST_DEMO_PORT) return Number(process.env.OUTPOST_DEMO_PORT);
  for (const p of [8443, 9443, 10443, 18443]) if (await portFree(p)) return p;
  throw new Error('no free port among 8443, 9443, 10443, 18443 (OUTPOST_DEMO_PORT chooses another)');
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
      { stdio: ['ignore', 'pipe', 'inherit'] },
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
    child.once('exit', (code) => {
      if (stopping) return;
      reject(new Error(`the collector exited with ${code}`));
      void stopAll(1);
    });
  });
}

// ---- the agent -------------------------------------------------------------------------------------------------

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

/** A passwd entry by name, through NSS (`getent`) with /etc/passwd as the fallback. */
function passwdEntry(name: string): { uid: number; gid: number; shell: string } | undefined {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  const line =
    r.status === 0
      ? r.stdout.trim()
      : existsSync('/etc/passwd')
        ? readFileSync('/etc/passwd', 'utf8')
            .split('\n')
            .find((l) => l.startsWith(`${name}:`))
        : undefined;
  const f = line?.split(':');
  return f && f.length >= 7 ? { uid: Number(f[2]), gid: Number(f[3]), shell: f[6]! } : undefined;
}

/**
 * The user ordinary sessions run as. As root: a dedicated unprivileged system user, created when missing (an agent
 * running as root refuses plain sessions without one). Otherwise the agent runs as the current user, and so do they.
 */
function shellUser(): { name: string; uid?: number; gid?: number; created: boolean } {
  if (!isRoot) return { name: userInfo().username, created: false };
  const name = process.env.OUTPOST_DEMO_USER || 'outpost-demo';
  let entry = passwdEntry(name);
  let created = false;
  if (!entry) {
    const shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
    const r = spawnSync(
      'useradd',
      [
        '--system',
        '--create-home',
        '--home-dir',
        `/var/lib/${name}`,
        '--shell',
        shell,
        '--comment',
        'Outpost demo remote shell sessions',
        name,
      ],
      { encoding: 'utf8' },
    );
    entry = passwdEntry(name);
    if (!entry)
      throw new Error(
        `cannot create the shell user ${name} with useradd (${r.error?.message ?? r.stderr.trim()}); create an unprivileged user and run again with OUTPOST_DEMO_USER=<name>`,
      );
    created = true;
  }
  if (entry.uid === 0)
    throw new Error(`the shell user ${name} is root; OUTPOST_DEMO_USER must name an unprivileged user`);
  return { name, uid: entry.uid, gid: entry.gid, created };
}

/**
 * The folders: state private to root, except `files/`, owned by the shell user so a session can read and write
 * what `outpost cp` brings (the demo folder itself is traversable, not listable, for that).
 */
function prepareFolders(user: { uid?: number; gid?: number }): void {
  mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  for (const d of ['collector', 'agent']) {
    mkdirSync(join(demoDir, d), { recursive: true, mode: 0o700 });
    chmodSync(join(demoDir, d), 0o700);
  }
  mkdirSync(filesDir, { recursive: true, mode: 0o755 });
  const hello = join(filesDir, 'hello.txt');
  if (!existsSync(hello))
    writeFileSync(hello, 'Hello from the Outpost demo: this file sits in the agent’s file root.\n', { mode: 0o644 });
  if (user.uid !== undefined && user.gid !== undefined) {
    chmodSync(demoDir, 0o711);
    chownSync(filesDir, user.uid, user.gid);
    chownSync(hello, user.uid, user.gid);
  }
}

/** Adds the shell user and the file root to the agent's configuration (kept as they are when already there). */
function configureAgent(user: string): void {
  const config = JSON.parse(readFileSync(agentConfigFile, 'utf8')) as Record<string, unknown> & {
    shell?: Record<string, unknown>;
    fileRoots?: string[];
  };
  if (isRoot) config.shell = { ...config.shell, user };
  config.fileRoots = [...new Set([...(config.fileRoots ?? []), filesDir])];
  writeFileSync(agentConfigFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  readAgentConfig(agentConfigFile); // the agent would refuse it at start; say so here instead
}

// ---- main ------------------------------------------------------------------------------------------------------

/** A path as typed from the checkout's root (relative when inside it). */
function fromRoot(path: string): string {
  const rel = relative(root, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** A shell word: single-quoted when it holds anything a shell would interpret. */
function word(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<void> {
  const user = shellUser();
  prepareFolders(user);
  const { started, state, admin } = await startAndLogIn();
  const site = await demoSite(admin);
  if (!existsSync(agentConfigFile)) await enrollDemoAgent(admin, site.id, started);
  configureAgent(user.name);
  const agentConfig = readAgentConfig(agentConfigFile);
  const agent = spawn(process.execPath, [agentBin, 'run'], { env: agentEnv, stdio: ['ignore', 'inherit', 'ignore'] });
  children.push(agent);
  agent.once('exit', (code) => {
    if (stopping) return;
    process.stderr.write(`the demo agent exited with ${code}\n`);
    void stopAll(1);
  });
  const shown = await waitOnline(admin, agentConfig.agentId);
  printBanner(started, state, user, agentConfig.agentId, shown);
}

type Started = Awaited<ReturnType<typeof startCollector>>;
type ShownAgent = { hostname: string; status: string; os: { distro: string; release: string } };

/** The collector on the saved port (or a free one), and the admin logged in with the saved (or first) password. */
async function startAndLogIn(): Promise<{ started: Started; state: DemoState; admin: ApiTarget }> {
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
  return { started, state, admin: { ...base, token: login.token } };
}

/** The "Demo" client and its "This machine" site, created on the first run. */
async function demoSite(admin: ApiTarget): Promise<{ id: string }> {
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
  return (
    sites.sites.find((s) => s.name === 'This machine') ??
    (await apiCall<{ id: string }>(admin, 'POST', `/api/v1/clients/${client.id}/sites`, {
      name: 'This machine',
      timezone: zone,
    }))
  );
}

/** Enrolls the demo agent with a one-use token (first run only). */
async function enrollDemoAgent(admin: ApiTarget, siteId: string, started: Started): Promise<void> {
  const token = await apiCall<{ token: string }>(admin, 'POST', '/api/v1/enrollment-tokens', {
    siteId,
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

/** The agent as the collector shows it, once online (or as it is after 20 s). */
async function waitOnline(admin: ApiTarget, agentId: string): Promise<ShownAgent | undefined> {
  let shown: ShownAgent | undefined;
  for (let i = 0; i < 100; i++) {
    shown = await apiCall<ShownAgent>(admin, 'GET', `/api/v1/agents/${agentId}`);
    if (shown.status === 'online') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return shown;
}

/** What runs where, and the commands to try. */
function printBanner(
  started: Started,
  state: DemoState,
  user: ReturnType<typeof shellUser>,
  id: string,
  shown: ShownAgent | undefined,
): void {
  const cli = 'node collector/bin/outpost.js';
  const here = fromRoot(demoDir);
  process.stdout.write(
    [
      '',
      `Outpost demo is running (Ctrl-C to stop; state in ${here}/).`,
      `  collector     ${started.url}`,
      `  certificate   SHA-256 ${started.fingerprint}`,
      `  admin         ${state.email} / ${state.password}`,
      `  web console   ${new URL('/', started.url).href}  (log in as the admin above; the browser warns about the`,
      `                self-signed certificate: check its SHA-256 is the one above, then accept it)`,
      `  agent         ${id}  ${shown?.hostname} (${shown?.os.distro} ${shown?.os.release})  ${shown?.status}`,
      `  shell user    ${user.name}${user.created ? ' (created now)' : ''}: plain sessions run as this user`,
      `  file root     ${filesDir}`,
      '',
      'Try it from another terminal; the commands work as printed (the shell ends with `exit`):',
      `  cd ${word(root.replace(/\/$/, ''))}`,
      `  ${cli} login --server ${started.url} --email ${word(state.email)} --ca-fingerprint ${started.fingerprint} --password ${word(state.password)}`,
      `  ${cli} agents list`,
      `  ${cli} shell ${id}`,
      `  ${cli} cp README.md ${id}:${word(join(filesDir, 'README.md'))}`,
      `  ${cli} cp ${id}:${word(join(filesDir, 'hello.txt'))} ${word(join(here, 'hello.txt'))}`,
      `  ${cli} audit`,
      `  node agent/bin/outpost-agent.js --config ${word(fromRoot(agentConfigFile))} status`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  void stopAll(1);
});
