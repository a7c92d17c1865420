/**
 * Packaged agents installed the way the self-update expects (docs/0011-releases.md): each in its own temp install
 * root (`versions/<v>/outpost-agent` + a `current` symlink), enrolled, trusting a release root, and run under a
 * supervisor loop standing in for systemd (`Restart=always`: restart on every exit, 75 included). Shared by the
 * update and rollout tests, with the helpers both need: the CLI run as a child, fake release packages, polling.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { outpostBin } from './collector.js';

/** The platform the packaged tests build and run. */
export const PLATFORM = 'linux-x64';

/** Runs a program to its end without blocking this process (the collector may run here); rejects on failure. */
export function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${file} ${args.join(' ')} failed (${code}):\n${out}\n${err}`)),
    );
  });
}

/** Where the CLI talks to: a collector's API with an admin token (omit for the offline `release` commands). */
export interface CliTarget {
  apiUrl: string;
  token: string;
  fingerprint?: string | undefined;
}

/** Runs the technicians' CLI (`outpost …`) as a child process, against `target` when given. */
export function outpostCli(target: CliTarget | undefined, args: string[]): Promise<string> {
  const global = target
    ? [
        '--server',
        target.apiUrl,
        '--token',
        target.token,
        ...(target.fingerprint ? ['--ca-fingerprint', target.fingerprint] : []),
      ]
    : [];
  return run(process.execPath, [outpostBin, ...global, ...args]);
}

/** A directory with one fake executable for a platform running `body` (for releases whose code never matters). */
export function fakePackages(dir: string, version: string, platform = PLATFORM, body = `echo ${version}`): string {
  const d = join(dir, `fake-${version}-${platform}`);
  mkdirSync(d, { recursive: true });
  const f = join(d, `outpost-agent-${platform}`);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
  return d;
}

/** A release that prints its version for the pre-flight, then fails at every start: what a bad release looks like. */
export function brokenPackages(dir: string, version: string): string {
  return fakePackages(
    dir,
    version,
    PLATFORM,
    `[ "$1" = --version ] && { echo ${version}; exit 0; }; echo crashing >&2; exit 1`,
  );
}

const supervisors = new Set<Supervisor>();

/** `service restart on exit`, like systemd's Restart=always: runs `<root>/current/outpost-agent run` forever. */
export class Supervisor {
  child: ChildProcess | undefined;
  log = '';
  exits: (number | null)[] = [];
  starts = 0;
  #stopped = false;
  constructor(
    readonly root: string,
    readonly env: NodeJS.ProcessEnv,
  ) {
    supervisors.add(this);
    this.#start();
  }
  #start(): void {
    if (this.#stopped) return;
    this.starts++;
    const child = spawn(join(this.root, 'current', 'outpost-agent'), ['run'], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (d: Buffer) => {
      // The tail is enough to explain a failure; twenty agents' full logs are not worth the memory.
      this.log = (this.log + d.toString()).slice(-64_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', (code) => {
      this.exits.push(code);
      setTimeout(() => this.#start(), 200);
    });
    child.once('error', (err) => {
      this.log += `spawn error: ${err.message}\n`;
    });
  }
  async stop(): Promise<void> {
    this.#stopped = true;
    supervisors.delete(this);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/** Stops every supervisor still running (afterAll). */
export async function stopAllSupervisors(): Promise<void> {
  await Promise.all([...supervisors].map((s) => s.stop()));
}

/** A packaged agent installed in its own root. */
export interface InstalledAgent {
  id: string;
  home: string;
  root: string;
  stateDir: string;
  configFile: string;
  sup: Supervisor;
}

/**
 * A fresh install of `executable` (version `version`) under `home`, enrolled with `token`, trusting `rootFile`,
 * with a short health deadline, running under a supervisor. `hardlink` shares the executable's bytes between
 * installs (never written to: an update stages new files) instead of copying 120 MB per agent.
 */
export async function installPackagedAgent(o: {
  home: string;
  executable: string;
  version: string;
  server: string;
  fingerprint?: string | undefined;
  token: string;
  rootFile: string;
  healthDeadlineMs: number;
  hardlink?: boolean;
}): Promise<InstalledAgent> {
  const root = join(o.home, 'opt');
  const exe = join(root, 'versions', o.version, 'outpost-agent');
  mkdirSync(join(root, 'versions', o.version), { recursive: true });
  if (o.hardlink) linkSync(o.executable, exe);
  else {
    copyFileSync(o.executable, exe);
    chmodSync(exe, 0o755);
  }
  symlinkSync(join('versions', o.version), join(root, 'current'));
  const configFile = join(o.home, 'agent.json');
  const stateDir = join(o.home, 'state');
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: o.home,
    OUTPOST_AGENT_CONFIG: configFile,
    OUTPOST_AGENT_STATE: stateDir,
    OUTPOST_INVENTORY: 'off',
    OUTPOST_LOG_LEVEL: 'info',
  };
  const args = ['enroll', '--server', o.server, '--token', o.token, '--state-dir', stateDir];
  if (o.fingerprint) args.push('--ca-fingerprint', o.fingerprint);
  await run(join(root, 'current', 'outpost-agent'), args, env);
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  // What install will write: the root to trust and (for the test) a short health deadline. The install root is not
  // configured: the agent finds it from its own executable's path.
  writeFileSync(
    configFile,
    JSON.stringify({ ...config, updateRoot: o.rootFile, update: { healthDeadlineMs: o.healthDeadlineMs } }),
  );
  const sup = new Supervisor(root, env);
  return { id: config.agentId as string, home: o.home, root, stateDir, configFile, sup };
}

/** Polls `check` every 100 ms until true; throws naming `what` (and the agent's log tail) on timeout. */
export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  a?: { sup: Supervisor },
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${a ? `\nagent log:\n${a.sup.log.slice(-4000)}` : ''}`);
}

/** Where the agent's `current` pointer leads (`versions/<v>`). */
export const pointer = (a: { root: string }) => readlinkSync(join(a.root, 'current'));
