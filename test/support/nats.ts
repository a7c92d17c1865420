/**
 * A real nats-server for tests (Debian's `nats-server` 2.9, installed by `.ci/run`): started on a free loopback port
 * with JetStream in a temp dir (`-js -sd DIR`), ready once it answers a connection, stopped (and its dir removed) on
 * dispose — `await using` stops it even when the test fails. `natsUnavailable()` says why a test must skip.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process-collector.js';

/** Why nats-server cannot run here, or undefined when it can. */
export function natsUnavailable(): string | undefined {
  if (process.env.OUTPOST_TEST_NATS_URL) return undefined;
  const r = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'nats-server is not installed (apt-get install nats-server; .ci/run does it)';
  return undefined;
}

/** A running nats-server. */
export interface NatsServer extends AsyncDisposable {
  url: string;
  port: number;
  /** The server process; undefined for the run's shared server (not this file's to stop). */
  child: ChildProcess | undefined;
  /** The server's log so far (for a failing test's message). */
  log(): string;
  /** SIGKILLs the server (a fault test); dispose still cleans up. */
  kill(): Promise<void>;
}

/**
 * The run's shared nats-server (OUTPOST_TEST_NATS_URL: `.ci/run` or test/support/services.setup.ts) when there is
 * one, else a server of this file's own. Files share a server safely because each one's nodes use a deployment of
 * their own (`DEPLOYMENT` in test/cluster/nodes.ts), which namespaces every subject. Disposing the shared one does
 * nothing; killing it is refused (a fault test starts its own with `startNats`).
 */
export async function testNats(): Promise<NatsServer> {
  const url = process.env.OUTPOST_TEST_NATS_URL;
  if (!url) return startNats();
  return {
    url,
    port: Number(new URL(url).port),
    child: undefined,
    log: () => `(the run's shared nats-server at ${url}: its log is not captured)`,
    kill: () => Promise.reject(new Error('the shared nats-server cannot be killed: start one with startNats()')),
    async [Symbol.asyncDispose]() {},
  };
}

/** Starts nats-server with JetStream on a free loopback port; resolves once it accepts connections. */
export async function startNats(): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-nats-'));
  const port = await freePort();
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    child,
    log: () => out,
    kill,
    async [Symbol.asyncDispose]() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitListening(port, child, 10_000);
  } catch (err) {
    await server[Symbol.asyncDispose]();
    throw new Error(`nats-server did not start: ${(err as Error).message}\n${out}`);
  }
  return server;
}

/** Polls the port until a TCP connection succeeds (NATS greets with INFO at once). */
async function waitListening(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('data', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50)); // polling interval while the server starts
  }
  throw new Error(`not listening after ${timeoutMs} ms`);
}
