/**
 * Simulated agents for `bench:agents` and `bench:rollout`, run in a child process (each process holds its own sockets, so the
 * collector's file-descriptor limit is the only shared one). Driven by IPC commands from agents.ts; every agent has
 * its own Ed25519 key and a real WebSocket, and speaks the real protocol.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { get as httpsGet } from 'node:https';
import { type AgentFacts, collectorMessages, exportPublicKey, PROTOCOL_VERSION, signAuthProof } from '@outpost/shared';
import { WebSocket } from 'ws';

interface Sim {
  i: number;
  key: KeyObject;
  pub: string;
  agentId?: string;
  ws?: WebSocket;
  nextSeq: number;
  acked: number;
  timers: NodeJS.Timeout[];
}

const url = `${process.env.BENCH_AGENT_URL}/v1/agent`;
const token = process.env.BENCH_TOKEN ?? '';
const count = Number(process.env.BENCH_COUNT ?? 100);
const base = Number(process.env.BENCH_BASE ?? 0);
const facts = (i: number): AgentFacts => ({
  hostname: `sim-${base + i}`,
  os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0', arch: 'x64' },
  cpu: { model: 'Simulated CPU', cores: 4 },
  memoryBytes: 8 * 1024 ** 3,
});
const sims: Sim[] = Array.from({ length: count }, (_, i) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { i, key: privateKey, pub: exportPublicKey(publicKey), nextSeq: 1, acked: 0, timers: [] };
});
let acks = 0;
let refused = 0;
/** Commands received, per message type: how many agents got one, and when the last of them did (epoch ms). */
const commands = new Map<string, { agents: Set<number>; last: number }>();
function heard(type: string, sim: Sim): void {
  const c = commands.get(type) ?? { agents: new Set<number>(), last: 0 };
  commands.set(type, c);
  c.agents.add(sim.i);
  c.last = Date.now();
}

/** Opens one socket and completes the handshake (enroll when the sim has no id yet). */
function connect(sim: Sim): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { rejectUnauthorized: false, perMessageDeflate: false });
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        resolve();
      }
    };
    ws.on('message', (data) => {
      const msg = collectorMessages.decode(data.toString());
      if (msg.type === 'collector.challenge') {
        const auth = sim.agentId
          ? {
              method: 'key' as const,
              agentId: sim.agentId,
              signature: signAuthProof(sim.key, msg.nonce, 'key', sim.agentId),
            }
          : {
              method: 'enroll' as const,
              token,
              publicKey: sim.pub,
              signature: signAuthProof(sim.key, msg.nonce, 'enroll', sim.pub),
            };
        ws.send(
          JSON.stringify({
            type: 'agent.hello',
            protocolVersion: PROTOCOL_VERSION,
            agentVersion: 'bench',
            auth,
            facts: facts(sim.i),
          }),
        );
      } else if (msg.type === 'collector.welcome') {
        sim.agentId = msg.agentId;
        sim.acked = msg.lastSeq;
        sim.nextSeq = Math.max(sim.nextSeq, msg.lastSeq + 1);
        sim.ws = ws;
        finish();
      } else if (msg.type === 'stream.ack') {
        acks += Math.max(0, msg.seq - sim.acked);
        sim.acked = Math.max(sim.acked, msg.seq);
      } else if (msg.type === 'job.run' || msg.type === 'update.assign') heard(msg.type, sim);
    });
    ws.on('close', () => {
      if (!done) refused++;
      finish();
    });
    ws.on('error', () => finish());
  });
}

/** Runs `fn` over all sims with at most `limit` in flight. */
async function pool(limit: number, fn: (s: Sim) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < sims.length) await fn(sims[next++]!);
    }),
  );
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

function sendEvent(s: Sim, n: number): void {
  if (s.ws?.readyState !== WebSocket.OPEN) return;
  s.ws.send(JSON.stringify({ type: 'stream.event', seq: s.nextSeq++, time: Date.now(), kind: 'bench', data: { n } }));
}

/** Heartbeat and one event per agent every `interval` ms, spread over the interval, like a real fleet. */
async function steady(interval: number, seconds: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const before = acks;
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
}): Promise<Record<string, number>> {
  const t0 = performance.now();
  switch (cmd.op) {
    case 'enroll':
    case 'connect':
      refused = 0;
      await pool(64, connect);
      return {
        ms: performance.now() - t0,
        connected: sims.filter((s) => s.ws?.readyState === WebSocket.OPEN).length,
        refused,
      };
    case 'disconnect':
      for (const s of sims) s.ws?.terminate();
      await new Promise((r) => setTimeout(r, 200));
      return { ms: performance.now() - t0 };
    case 'steady':
      return steady(cmd.intervalMs ?? 30_000, cmd.seconds ?? 60);
    case 'burst': {
      const events = cmd.events ?? 20;
      const target = sims.map((s) => s.nextSeq - 1 + events);
      const before = acks;
      for (let n = 0; n < events; n++) for (const s of sims) sendEvent(s, n);
      while (sims.some((s, i) => s.ws?.readyState === WebSocket.OPEN && s.acked < target[i]!))
        await new Promise((r) => setTimeout(r, 20));
      return { ms: performance.now() - t0, acked: acks - before };
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
  handle(cmd).then(
    (r) => process.send?.({ ok: true, ...r }),
    (err: unknown) => process.send?.({ ok: false, error: String(err) }),
  );
});
process.send?.({ ok: true, ready: count });
