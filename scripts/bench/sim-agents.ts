/**
 * Simulated agents for `bench:agents` and `bench:rollout`, run in a child process (each process holds its own sockets, so the
 * collector's file-descriptor limit is the only shared one). Driven by IPC commands from agents.ts; every agent has
 * its own Ed25519 key and a real WebSocket, and speaks the real protocol.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { get as httpsGet } from 'node:https';
import { type AgentFacts, collectorMessages, exportPublicKey, PROTOCOL_VERSION, signAuthProof } from '@outpost/shared';
import { WebSocket } from 'ws';
import { ConnectTally, failureOfError } from './sim-connect.js';

interface Sim {
  i: number;
  key: KeyObject;
  pub: string;
  agentId?: string;
  ws?: WebSocket;
  nextSeq: number;
  acked: number;
  timers: NodeJS.Timeout[];
  /** Sequenced messages sent and not yet acknowledged (kept only when `agentLike`), to resend after a reconnect. */
  unacked: { seq: number; text: string }[];
}

/** Where the sims dial; a `connect` command may move them to another collector node (the cluster bench's failover). */
let url = `${process.env.BENCH_AGENT_URL}/v1/agent`;
const token = process.env.BENCH_TOKEN ?? '';
const count = Number(process.env.BENCH_COUNT ?? 100);
const base = Number(process.env.BENCH_BASE ?? 0);
/** The loopback address this process dials from (sim-connect.ts `sourceAddress`); the system picks when unset. */
const source = process.env.BENCH_SOURCE || undefined;
/** One socket's whole handshake (TCP, TLS, upgrade, challenge, welcome) past this has failed (`handshake-timeout`). */
const handshakeTimeoutMs = Number(process.env.BENCH_HANDSHAKE_TIMEOUT_MS ?? 60_000);
/** A connection phase stops starting sockets past this and answers with what it has (and what is missing). */
const phaseTimeoutMs = Number(process.env.BENCH_PHASE_TIMEOUT_MS ?? 30 * 60_000);
/**
 * BENCH_AGENT_LIKE=1: each sim behaves as the real agent does when its socket is lost (test/e2e/cluster.test.ts): it
 * reconnects by itself after a jittered pause, and after the welcome resends what it sent past the welcome's `lastSeq`
 * (the outbox's `syncWithCollector`), so nothing it sent is lost and `dropped` stays 0. Off: the benches' behaviour.
 */
const agentLike = process.env.BENCH_AGENT_LIKE === '1';
const facts = (i: number): AgentFacts => ({
  hostname: `sim-${base + i}`,
  os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0', arch: 'x64' },
  cpu: { model: 'Simulated CPU', cores: 4 },
  memoryBytes: 8 * 1024 ** 3,
});
const sims: Sim[] = Array.from({ length: count }, (_, i) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { i, key: privateKey, pub: exportPublicKey(publicKey), nextSeq: 1, acked: 0, timers: [], unacked: [] };
});
let acks = 0;
/** Sequenced messages sent to a node that died before storing them (see the welcome). */
let dropped = 0;
let tally = new ConnectTally();
/** Commands received, per message type: how many agents got one, and when the last of them did (epoch ms). */
const commands = new Map<string, { agents: Set<number>; last: number }>();
function heard(type: string, sim: Sim): void {
  const c = commands.get(type) ?? { agents: new Set<number>(), last: 0 };
  commands.set(type, c);
  c.agents.add(sim.i);
  c.last = Date.now();
}

/**
 * Opens one socket and completes the handshake (enroll when the sim has no id yet). Always settles: on the welcome, or
 * with the failure counted in the phase's tally (a socket error's code, the collector's close code, or a timeout).
 */
function connect(sim: Sim): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      rejectUnauthorized: false,
      perMessageDeflate: false,
      ...(source ? { localAddress: source } : {}),
    });
    let done = false;
    const settle = (failure?: { code: string; detail: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (failure) {
        tally.fail(failure);
        ws.terminate();
      } else tally.connected++;
      resolve();
    };
    const timer = setTimeout(
      () => settle({ code: 'handshake-timeout', detail: `no welcome within ${handshakeTimeoutMs} ms` }),
      handshakeTimeoutMs,
    );
    ws.on('message', (data) => {
      const msg = collectorMessages.decode(data.toString());
      if (msg.type === 'collector.challenge') ws.send(JSON.stringify(hello(sim, msg.nonce)));
      else if (msg.type === 'collector.welcome') {
        // The welcome's lastSeq confirms what was stored (its ack may have died with a killed node); what the sim sent
        // past it died in flight (a real agent's outbox resends it, a sim does not): counted as dropped, never acked.
        if (sim.agentId) {
          acks += Math.max(0, msg.lastSeq - sim.acked);
          if (!agentLike) dropped += Math.max(0, sim.nextSeq - 1 - msg.lastSeq);
        }
        sim.agentId = msg.agentId;
        sim.acked = agentLike ? Math.max(sim.acked, msg.lastSeq) : Math.max(msg.lastSeq, sim.nextSeq - 1);
        sim.nextSeq = Math.max(sim.nextSeq, msg.lastSeq + 1);
        sim.ws = ws;
        if (agentLike) resume(sim, ws, msg.lastSeq);
        settle();
      } else if (msg.type === 'stream.ack') {
        acks += Math.max(0, msg.seq - sim.acked);
        sim.acked = Math.max(sim.acked, msg.seq);
        if (agentLike) sim.unacked = sim.unacked.filter((u) => u.seq > msg.seq);
      } else if (msg.type === 'job.run' || msg.type === 'update.assign') heard(msg.type, sim);
    });
    ws.on('close', (code: number, reason: Buffer) =>
      settle({ code: `close ${code}`, detail: reason.toString() || 'closed before the welcome' }),
    );
    ws.on('error', (err: Error) => settle(failureOfError(err)));
  });
}

/**
 * After a welcome (agent-like sims): drops what the collector stored, resends the rest in order, and reconnects by
 * itself when this socket is lost.
 */
function resume(sim: Sim, ws: WebSocket, lastSeq: number): void {
  sim.unacked = sim.unacked.filter((u) => u.seq > lastSeq);
  for (const u of sim.unacked) ws.send(u.text);
  ws.once('close', () => {
    if (sim.ws === ws) reconnectLater(sim);
  });
}

/** Connects `sim` again after a pause of 100–600 ms (spread, as agents' backoff jitter), until it holds a socket. */
function reconnectLater(sim: Sim): void {
  setTimeout(
    () =>
      void connect(sim).then(() => {
        if (sim.ws?.readyState !== WebSocket.OPEN) reconnectLater(sim);
      }),
    100 + Math.random() * 500,
  );
}

/** Sends one sequenced message (its `seq` the sim's next), kept until acknowledged when the sim is agent-like. */
function sendSequenced(s: Sim, body: Record<string, unknown>): void {
  const seq = s.nextSeq++;
  const text = JSON.stringify({ ...body, seq });
  if (agentLike) s.unacked.push({ seq, text });
  s.ws!.send(text);
}

/** The hello answering `nonce`: enroll with the token and the sim's key, or prove the key of its agent id. */
function hello(sim: Sim, nonce: string) {
  const auth = sim.agentId
    ? { method: 'key' as const, agentId: sim.agentId, signature: signAuthProof(sim.key, nonce, 'key', sim.agentId) }
    : {
        method: 'enroll' as const,
        token,
        publicKey: sim.pub,
        signature: signAuthProof(sim.key, nonce, 'enroll', sim.pub),
      };
  return {
    type: 'agent.hello',
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: 'bench',
    auth,
    facts: facts(sim.i),
  };
}

/** Runs `fn` over `list` (all sims) with at most `limit` in flight, starting none after `deadline` (epoch ms). */
async function pool(limit: number, deadline: number, fn: (s: Sim) => Promise<void>, list = sims): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < list.length && Date.now() < deadline) await fn(list[next++]!);
    }),
  );
}

/**
 * Connects every sim; agent-like sims whose handshake failed (a hello timed out on a loaded machine) try again after
 * a pause, as a real agent backs off and retries, until all hold a socket or the deadline passes.
 */
async function connectAll(deadline: number): Promise<void> {
  await pool(64, deadline, connect);
  const unconnected = () => sims.filter((s) => s.ws?.readyState !== WebSocket.OPEN);
  while (agentLike && unconnected().length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500)); // the retry's backoff
    await pool(16, deadline, connect, unconnected());
  }
}

/** Downloads `url` once over HTTPS, discarding the bytes; resolves with how many arrived (or the error). */
function download(url: string): Promise<{ bytes: number; error?: string }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const req = httpsGet(url, { rejectUnauthorized: false, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve({ bytes, error: `HTTP ${res.statusCode}` });
        return;
      }
      res.on('data', (d: Buffer) => {
        bytes += d.length;
      });
      res.on('end', () => resolve({ bytes }));
      res.on('error', (e) => resolve({ bytes, error: e.message }));
    });
    req.on('error', (e) => resolve({ bytes, error: e.message }));
  });
}

/** One sequenced `metrics.batch` of one sample with `values` metrics, as an agent's sampling round. */
function sendMetrics(s: Sim, values: number): void {
  if (s.ws?.readyState !== WebSocket.OPEN) return;
  const sample = { time: Date.now(), values: {} as Record<string, number> };
  for (let k = 0; k < values; k++) sample.values[`bench.m${k}`] = Math.random() * 100;
  sendSequenced(s, { type: 'metrics.batch', samples: [sample] });
}

/** Sends `batches` messages from every open sim, `send` making each; answers once all are acknowledged. */
async function untilAcked(
  batches: number,
  send: (s: Sim, n: number) => void,
): Promise<Record<string, number | string>> {
  const t0 = performance.now();
  const target = sims.map((s) => s.nextSeq - 1 + batches);
  const before = acks;
  for (let n = 0; n < batches; n++) for (const s of sims) send(s, n);
  // Until every open socket's messages are acknowledged, or the phase deadline names the agents still waiting.
  const deadline = Date.now() + phaseTimeoutMs;
  const waiting = () => sims.filter((s, i) => s.ws?.readyState === WebSocket.OPEN && s.acked < target[i]!).length;
  while (waiting() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const left = waiting();
  const missing = left ? `${left} of ${sims.length} agents still wait for acks after ${phaseTimeoutMs} ms` : '';
  return { ms: performance.now() - t0, acked: acks - before, missing };
}

function sendEvent(s: Sim, n: number): void {
  if (s.ws?.readyState !== WebSocket.OPEN) return;
  sendSequenced(s, { type: 'stream.event', time: Date.now(), kind: 'bench', data: { n } });
}

/** Heartbeat and one event per agent every `interval` ms, spread over the interval, like a real fleet. */
async function steady(interval: number, seconds: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const before = acks;
  const droppedBefore = dropped;
  let sent = 0;
  for (const s of sims) {
    const start = setTimeout(() => {
      const beat = () => {
        if (s.ws?.readyState !== WebSocket.OPEN) return;
        s.ws.send(JSON.stringify({ type: 'agent.heartbeat', time: Date.now(), uptimeSec: 1, outboxPending: 0 }));
        sendEvent(s, sent++);
      };
      beat();
      s.timers.push(setInterval(beat, interval));
    }, Math.random() * interval);
    s.timers.push(start);
  }
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const s of sims) for (const t of s.timers.splice(0)) clearTimeout(t);
  return {
    ms: performance.now() - t0,
    sent,
    acked: acks - before,
    dropped: dropped - droppedBefore,
    open: sims.filter((s) => s.ws?.readyState === WebSocket.OPEN).length,
  };
}

async function handle(cmd: {
  op: string;
  seconds?: number;
  events?: number;
  intervalMs?: number;
  type?: string;
  timeoutMs?: number;
  url?: string;
  count?: number;
  values?: number;
}): Promise<Record<string, number | string>> {
  const t0 = performance.now();
  switch (cmd.op) {
    case 'enroll':
    case 'connect':
      if (cmd.url) url = `${cmd.url}/v1/agent`;
      tally = new ConnectTally();
      await connectAll(Date.now() + phaseTimeoutMs);
      return {
        ms: performance.now() - t0,
        connected: sims.filter((s) => s.ws?.readyState === WebSocket.OPEN).length,
        failed: tally.failed,
        failures: tally.codes(),
        missing: tally.shortfall(sims.length),
      };
    case 'disconnect':
      for (const s of sims) s.ws?.terminate();
      await new Promise((r) => setTimeout(r, 200));
      return { ms: performance.now() - t0 };
    case 'steady':
      return steady(cmd.intervalMs ?? 30_000, cmd.seconds ?? 60);
    case 'burst':
      return untilAcked(cmd.events ?? 20, sendEvent);
    case 'metrics': {
      const values = cmd.values ?? 20;
      return untilAcked(cmd.events ?? 20, (s) => sendMetrics(s, values));
    }
    case 'received': {
      // Waits until every connected sim of this process got a command of `type`; answers when the last one did.
      const deadline = Date.now() + (cmd.timeoutMs ?? 120_000);
      const open = () => sims.filter((s) => s.ws?.readyState === WebSocket.OPEN).length;
      while ((commands.get(cmd.type!)?.agents.size ?? 0) < open() && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      const c = commands.get(cmd.type!);
      return { ms: performance.now() - t0, received: c?.agents.size ?? 0, open: open(), last: c?.last ?? 0 };
    }
    case 'download': {
      // `count` downloads of the same file at once, as many agents of a wave fetching the release together.
      const results = await Promise.all(Array.from({ length: cmd.count ?? 0 }, () => download(cmd.url!)));
      return {
        ms: performance.now() - t0,
        bytes: results.reduce((n, r) => n + r.bytes, 0),
        done: results.filter((r) => !r.error).length,
        failed: results.filter((r) => r.error).length,
      };
    }
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

process.on('message', (cmd: { op: string }) => {
  if (cmd.op === 'exit') process.exit(0);
  // The reply names its command: the cluster bench has a `steady` phase running while it sends a `connect`.
  handle(cmd).then(
    (r) => process.send?.({ ok: true, op: cmd.op, ...r }),
    (err: unknown) => process.send?.({ ok: false, error: String(err) }),
  );
});
process.send?.({ ok: true, ready: count });
