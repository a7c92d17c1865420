/**
 * Test resources for a collector: in-process (buildApp on a temp dir, a free loopback port) or as a real process
 * (`outpost serve`, for crash tests). Both clean up after themselves with `await using`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ApiTarget,
  apiCall,
  type Clock,
  type Collector,
  type CollectorSettings,
  checkSettings,
  type RunningCollector,
  startServer,
} from '@outpost/collector';
import pino, { type Logger } from 'pino';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const outpostBin = join(repoRoot, 'collector/bin/outpost.js');
export const agentBin = join(repoRoot, 'agent/bin/outpost-agent.js');

/** A temp directory removed on dispose. */
export function tempDir(prefix: string): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), `outpost-${prefix}-`));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** An in-process collector with an admin API token. */
export interface TestCollector extends AsyncDisposable {
  running: RunningCollector;
  collector: Collector;
  apiUrl: string;
  agentUrl: string;
  fingerprint: string | undefined;
  admin: ApiTarget;
  dataDir: string;
  /** A client and a site, created for convenience. */
  clientId: string;
  siteId: string;
  /** Creates an enrollment token on the site. */
  enrollmentToken(opts?: {
    maxUses?: number;
    expiresInHours?: number;
    siteId?: string;
  }): Promise<{ token: string; id: string }>;
}

/** Starts a collector in this process on a free loopback port. */
export async function startTestCollector(
  overrides: Partial<CollectorSettings> & Record<string, unknown> = {},
  deps: { clock?: Clock; logger?: Logger } = {},
): Promise<TestCollector> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-collector-'));
  const settings = checkSettings({
    dataDir: dir,
    api: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    ...overrides,
  });
  const logger = deps.logger ?? pino({ level: process.env.OUTPOST_TEST_LOG ?? 'silent' });
  const running = await startServer(settings, { logger, ...(deps.clock ? { clock: deps.clock } : {}) });
  const c = running.collector;
  const base: ApiTarget = { server: running.apiUrl, caFingerprint: running.fingerprint };
  const login = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', {
    email: c.initialAdmin!.email,
    password: c.initialAdmin!.password,
  });
  const admin: ApiTarget = { ...base, token: login.token };
  const client = await apiCall<{ id: string }>(admin, 'POST', '/api/v1/clients', { name: 'Acme' });
  const site = await apiCall<{ id: string }>(admin, 'POST', `/api/v1/clients/${client.id}/sites`, {
    name: 'HQ',
    timezone: 'Europe/Paris',
  });
  return {
    running,
    collector: c,
    apiUrl: running.apiUrl,
    agentUrl: running.agentUrl,
    fingerprint: running.fingerprint,
    admin,
    dataDir: dir,
    clientId: client.id,
    siteId: site.id,
    async enrollmentToken(opts = {}) {
      const r = await apiCall<{ token: string; info: { id: string } }>(admin, 'POST', '/api/v1/enrollment-tokens', {
        siteId: opts.siteId ?? site.id,
        maxUses: opts.maxUses ?? 1,
        expiresInHours: opts.expiresInHours ?? 1,
      });
      return { token: r.token, id: r.info.id };
    },
    async [Symbol.asyncDispose]() {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A child process whose output is collected, killed on dispose. */
export interface Proc extends AsyncDisposable {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout+stderr matches, rejects on exit or timeout. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `node <script> ...args` with collected output. */
export function spawnNode(script: string, args: string[], env: Record<string, string> = {}, openFiles?: number): Proc {
  // OUTPOST_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=…`, which NODE_OPTIONS refuses) is for benchmarks.
  const nodeArgs = process.env.OUTPOST_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const command = [process.execPath, ...nodeArgs, script, ...args];
  // Soft and hard alike: node raises its soft open-files limit to the hard one as it starts. prlimit execs the
  // command, so the child's pid is node's.
  if (openFiles) command.unshift('prlimit', `--nofile=${openFiles}:${openFiles}`, '--');
  return spawnProcess(command[0]!, command.slice(1), { ...process.env, ...env });
}

/** Spawns `command ...args` with exactly `env` (nothing inherited) and collected output. */
export function spawnProcess(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Proc {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  // 'exit' can come before the last output has been read from the pipes (seen under load: a CLI's whole stdout
  // arriving after it): wait for both streams to close too, but not for ever (a descendant may hold them open).
  const closed = (s: NodeJS.ReadableStream & { closed?: boolean }) =>
    new Promise<void>((r) => (s.closed ? r() : s.once('close', () => r())));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      const drained = Promise.all([closed(child.stdout!), closed(child.stderr!)]);
      const cap = new Promise<void>((r) => setTimeout(r, 2000).unref());
      void Promise.race([drained, cap]).then(() => resolve(code));
    }),
  );
  const proc: Proc = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = (out + err).match(re);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${re}\nstdout:\n${out.slice(-3000)}\nstderr:\n${err.slice(-3000)}`));
        }, timeoutMs);
        const onExit = () => {
          setTimeout(() => {
            if (!(out + err).match(re)) {
              cleanup();
              reject(
                new Error(
                  `process exited while waiting for ${re}\nstdout:\n${out.slice(-3000)}\nstderr:\n${err.slice(-3000)}`,
                ),
              );
            }
          }, 50);
        };
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', onExit);
        };
        waiters.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
    async [Symbol.asyncDispose]() {
      await proc.kill('SIGKILL');
    },
  };
  return proc;
}

/** Kills every process handed to it when disposed (Node 20 has no AsyncDisposableStack). */
export class ProcessCleanup implements AsyncDisposable {
  readonly #procs: Proc[] = [];
  readonly #later: (() => Promise<unknown>)[] = [];
  use(p: Proc): Proc {
    this.#procs.push(p);
    return p;
  }
  defer(fn: () => Promise<unknown>): void {
    this.#later.push(fn);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    for (const p of this.#procs) await p.kill('SIGKILL');
    for (const fn of this.#later) await fn();
  }
}
