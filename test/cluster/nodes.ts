/**
 * Bus nodes for the cluster tests: each a NodeBus on its own NATS connection (as separate collector processes would
 * have), with a log that the test can read, all stopped on dispose.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
// The concern alone, not the whole collector's index: a third of the collect time.
import * as cluster from '../../collector/src/cluster/index.js';

/** Real time: the bus's timers run on it too. */
export const clock = { now: () => Date.now() };

/** One node: its bus, its transport and what it logged. */
export interface TestNode {
  bus: cluster.NodeBus;
  transport: cluster.BusTransport;
  logs: Record<string, unknown>[];
}

/** Fast timing for tests: presence expires within half a second, a silent stream peer within a second. */
export const FAST: Partial<cluster.BusOptions> = {
  requestTimeoutMs: 2000,
  heartbeatMs: 100,
  nodeTtlMs: 400,
  stream: { windowBytes: 256 * 1024, frameBytes: 32 * 1024, keepaliveMs: 100, deadAfterMs: 800 },
};

/** A logger whose JSON lines land in `logs`. */
export function capturingLogger(logs: Record<string, unknown>[]): pino.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

/** This file's deployment: files running side by side on the run's shared nats-server never see each other. */
export const DEPLOYMENT = `test-${process.pid}`;

/** Starts a node named `nodeId` of `deployment` on the NATS server at `url`. */
export async function startNode(
  url: string,
  nodeId: string,
  deployment = DEPLOYMENT,
  options: Partial<cluster.BusOptions> = FAST,
): Promise<TestNode> {
  const logs: Record<string, unknown>[] = [];
  const logger = capturingLogger(logs);
  const transport = await cluster.natsTransport({ servers: [url], name: nodeId, logger });
  const bus = new cluster.NodeBus({ transport, deployment, nodeId, clock: clock, logger, options });
  await bus.start();
  return { bus, transport, logs };
}

/** Nodes stopped and disconnected on dispose. */
export async function startNodes(url: string, ids: string[]): Promise<TestNode[] & AsyncDisposable> {
  const nodes = (await Promise.all(ids.map((id) => startNode(url, id)))) as TestNode[] & AsyncDisposable;
  nodes[Symbol.asyncDispose] = async () => {
    for (const n of nodes) {
      await n.bus.stop().catch(() => {});
      await n.transport.close();
    }
  };
  return nodes;
}

/** Resolves when `cond()` holds; fails after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10)); // polling interval
  }
}

/** The code of a rejected promise, with the time it took to reject. */
export async function codeOf(p: Promise<unknown>): Promise<{ code: string; ms: number }> {
  const t0 = performance.now();
  try {
    await p;
  } catch (err) {
    return { code: String((err as { code?: unknown }).code), ms: performance.now() - t0 };
  }
  throw new Error('expected a rejection');
}

/** `n` bytes of a pattern that shows any reordering or loss (each 4-byte word is its own offset). */
export function patterned(n: number, from = 0): Uint8Array {
  const b = new Uint8Array(n);
  const v = new DataView(b.buffer);
  for (let i = 0; i + 4 <= n; i += 4) v.setUint32(i, from + i);
  return b;
}
