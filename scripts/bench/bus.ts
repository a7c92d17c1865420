/**
 * Node bus benchmark (`pnpm bench:bus`): request/reply latency and relayed stream throughput between two bus nodes
 * through a local nats-server (Debian's, started here on a free loopback port with JetStream in a temp dir, stopped
 * after), beside the same figures on the in-process transport a single `outpost serve` uses. The two nodes are two
 * NATS connections in this one process (so the stream's sender and receiver share one thread: a floor, not a
 * ceiling). Prints a table and, last, one JSON line with the figures. docs/0017-nodes.md has a run.
 *   BENCH_REQUESTS (default 2000) sequential requests after 200 of warm-up; BENCH_STREAM_MB (default 64) per stream.
 */
import pino from 'pino';
import * as cluster from '../../collector/src/cluster/index.js';
import { natsUnavailable, startNats } from '../../test/support/nats.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS) || 2000;
const STREAM_MB = Number(process.env.BENCH_STREAM_MB) || 64;
const clock = { now: () => Date.now() };
const logger = pino({ level: 'warn' });

const why = natsUnavailable();
if (why) {
  console.error(`bench:bus needs nats-server: ${why}`);
  process.exit(2);
}

/** Two nodes on their own transports: `b` holds agent-1 and accepts streams, whose bytes it writes to them. */
async function pair(make: () => Promise<[cluster.BusTransport, cluster.BusTransport]>, window: number) {
  const stream = { ...cluster.DEFAULT_STREAM_OPTIONS, windowBytes: window };
  const [ta, tb] = await make();
  const mk = (transport: cluster.BusTransport, nodeId: string) =>
    new cluster.NodeBus({ transport, deployment: 'bench', nodeId, clock, logger, options: { stream } });
  const a = mk(ta, 'node-a');
  const b = mk(tb, 'node-b');
  await Promise.all([a.start(), b.start()]);
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  b.hold('agent-1', {
    handler: async (cmd) => {
      if (cmd.type !== 'stream.open') return { ok: 1 };
      const s = await b.acceptStream(cmd.streamId);
      const total = Number(cmd.params.bytes);
      void (async () => {
        for (let sent = 0; sent < total; sent += chunk.length) await s.write(chunk);
        await s.close();
      })();
      return {};
    },
  });
  await tb.flush();
  return {
    a,
    async close() {
      await Promise.all([a.stop(), b.stop()]);
      await Promise.all([ta.close(), tb.close()]);
    },
  };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function latency(a: cluster.NodeBus): Promise<{ p50: number; p99: number; offline: number }> {
  for (let i = 0; i < 200; i++) await a.request('agent-1', { type: 'agent.where' });
  const ms: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    await a.request('agent-1', { type: 'agent.where' });
    ms.push(performance.now() - t0);
  }
  ms.sort((x, y) => x - y);
  const off: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    await a.request('agent-none', { type: 'agent.where' }).catch(() => {});
    off.push(performance.now() - t0);
  }
  off.sort((x, y) => x - y);
  return { p50: pct(ms, 0.5), p99: pct(ms, 0.99), offline: pct(off, 0.5) };
}

async function throughput(a: cluster.NodeBus): Promise<number> {
  const bytes = STREAM_MB * 1024 * 1024;
  const t0 = performance.now();
  const s = await a.openStream('agent-1', 'file', { bytes });
  let got = 0;
  for await (const c of s) got += c.length;
  if (got < bytes) throw new Error(`stream ended at ${got} of ${bytes} bytes`);
  return got / 1024 / 1024 / ((performance.now() - t0) / 1000);
}

const nats = await startNats();
const rows: [string, string, string, string, string][] = [];
const figures: Record<string, number> = {};
try {
  const connect = () => cluster.natsTransport({ servers: [nats.url], name: 'bench', logger });
  const transports: [string, () => Promise<[cluster.BusTransport, cluster.BusTransport]>][] = [
    // Two connections, as two nodes have.
    ['nats', async () => [await connect(), await connect()]],
    // One process, one transport: what a single `outpost serve` would cross (it never needs to; docs/0017).
    [
      'in-process',
      async () => {
        const t = new cluster.LocalTransport();
        return [t, t];
      },
    ],
  ];
  for (const [name, make] of transports) {
    for (const window of [256 * 1024, 1024 * 1024]) {
      const p = await pair(make, window);
      const lat = window === 256 * 1024 ? await latency(p.a) : undefined;
      const mbps = await throughput(p.a);
      await p.close();
      const key = `${name}_w${window / 1024}k`;
      if (lat) {
        figures[`${name}_request_p50_ms`] = lat.p50;
        figures[`${name}_request_p99_ms`] = lat.p99;
        figures[`${name}_offline_p50_ms`] = lat.offline;
      }
      figures[`${key}_stream_MBps`] = mbps;
      rows.push([
        name,
        `${window / 1024} KiB`,
        lat ? `${lat.p50.toFixed(3)} / ${lat.p99.toFixed(3)}` : '',
        lat ? lat.offline.toFixed(3) : '',
        mbps.toFixed(0),
      ]);
    }
  }
} finally {
  await nats[Symbol.asyncDispose]();
}

const head = ['transport', 'window', 'request p50/p99 ms', '"offline" p50 ms', `stream MB/s (${STREAM_MB} MB)`];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
process.stdout.write(
  `${JSON.stringify({ bench: 'bus', requests: REQUESTS, streamMB: STREAM_MB, ...Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number(v.toFixed(3))])) })}\n`,
);
