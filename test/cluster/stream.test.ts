/**
 * Relayed byte streams between two nodes over a real nats-server: node-a (the technician's) opens a stream to an
 * agent held on node-b. Bytes arrive complete and in order; a stalled reader stalls the writer with the bytes held
 * bounded by the credit window on both sides, and everything arrives once it reads again; an end with a code reaches
 * the other side with that code; a node that goes silent ends the other side with OUTPOST_E_NODE_LOST.
 */
import { createHash } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as cluster from '../../collector/src/cluster/index.js';
import { type NatsServer, natsUnavailable, testNats } from '../support/nats.js';
import { FAST, patterned, startNode, startNodes, type TestNode, until } from './nodes.js';

const skip = natsUnavailable();
if (skip) console.warn(`skipping the relayed stream tests: ${skip}`);

const WINDOW = FAST.stream!.windowBytes;

describe.skipIf(skip)('relayed byte streams over NATS', () => {
  let nats: NatsServer;
  let nodes: TestNode[] & AsyncDisposable;
  let a: cluster.NodeBus;
  let b: cluster.NodeBus;
  /** The agent side of each stream node-b accepted, by stream id. */
  const accepted: cluster.BusStream[] = [];

  beforeAll(async () => {
    nats = await testNats();
    nodes = await startNodes(nats.url, ['node-a', 'node-b']);
    [a, b] = nodes.map((n) => n.bus) as [cluster.NodeBus, cluster.NodeBus];
    b.hold('agent-1', {
      handler: async (cmd) => {
        if (cmd.type !== 'stream.open') return {};
        accepted.push(await b.acceptStream(cmd.streamId));
        return { opened: cmd.streamId };
      },
    });
    await nodes[1]!.transport.flush();
  });
  afterAll(async () => {
    await nodes?.[Symbol.asyncDispose]();
    await nats?.[Symbol.asyncDispose]();
  });

  /** Opens a stream from node-a; returns both ends. */
  async function pair(): Promise<{ tech: cluster.BusStream; agent: cluster.BusStream }> {
    const tech = await a.openStream('agent-1', 'shell', { cols: 80, rows: 24 });
    const agent = accepted.at(-1)!;
    expect(agent.id).toBe(tech.id);
    return { tech, agent };
  }

  async function readAll(s: cluster.BusStream): Promise<{ bytes: number; sha: string }> {
    const h = createHash('sha256');
    let bytes = 0;
    for await (const c of s) {
      h.update(c);
      bytes += c.length;
    }
    return { bytes, sha: h.digest('hex') };
  }

  it('carries 8 MB from the agent side in order, and bytes the other way too', async () => {
    const { tech, agent } = await pair();
    const data = patterned(8 * 1024 * 1024);
    const reading = readAll(tech);
    for (let off = 0; off < data.length; off += 100_000) await agent.write(data.subarray(off, off + 100_000));
    await tech.write(new TextEncoder().encode('ls -l\r'));
    const typed = await agent.read();
    expect(new TextDecoder().decode(typed!)).toBe('ls -l\r');
    await agent.close();
    const got = await reading;
    expect(got.bytes).toBe(data.length);
    expect(got.sha).toBe(createHash('sha256').update(data).digest('hex'));
    expect(await tech.closed).toBeUndefined();
  });

  it('stalls the writer while the reader does not read, with bounded bytes held, and resumes when it drains', async () => {
    const { tech, agent } = await pair();
    const CHUNK = 64 * 1024;
    const TOTAL = 4 * 1024 * 1024;
    let written = 0;
    let maxBuffered = 0;
    const writing = (async () => {
      for (let off = 0; off < TOTAL; off += CHUNK) {
        const p = agent.write(patterned(CHUNK, off));
        maxBuffered = Math.max(maxBuffered, agent.bufferedBytes);
        await p;
        written += CHUNK;
      }
      await agent.close();
    })();
    // Nobody reads on the technician's side: the writer must stop at the window.
    await until(() => tech.queuedBytes === WINDOW, 3000, 'the window to fill');
    await new Promise((r) => setTimeout(r, 300)); // a stall long enough for a leak to show
    expect(tech.queuedBytes).toBe(WINDOW);
    expect(written).toBeLessThanOrEqual(WINDOW);
    expect(maxBuffered).toBeLessThanOrEqual(CHUNK);
    expect(agent.bufferedBytes).toBeLessThanOrEqual(CHUNK);
    const got = await readAll(tech);
    await writing;
    expect(written).toBe(TOTAL);
    expect(got.bytes).toBe(TOTAL);
    const expected = createHash('sha256');
    for (let off = 0; off < TOTAL; off += CHUNK) expected.update(patterned(CHUNK, off));
    expect(got.sha).toBe(expected.digest('hex'));
  });

  it('ends the other side with the code one side closed with', async () => {
    const { tech, agent } = await pair();
    const reading = tech.read();
    await agent.close(new OutpostError('OUTPOST_E_AGENT_OFFLINE', { message: 'agent disconnected' }));
    await expect(reading).rejects.toMatchObject({ code: 'OUTPOST_E_AGENT_OFFLINE', message: 'agent disconnected' });
    expect((await tech.closed)?.code).toBe('OUTPOST_E_AGENT_OFFLINE');
    await expect(tech.write(new Uint8Array(1))).rejects.toMatchObject({ code: 'OUTPOST_E_AGENT_OFFLINE' });
  });

  it('ends with OUTPOST_E_NODE_LOST when the other node goes silent, writers included', async () => {
    const c = await startNode(nats.url, 'node-c');
    let far: cluster.BusStream | undefined;
    c.bus.hold('agent-2', {
      handler: async (cmd) => {
        if (cmd.type === 'stream.open') far = await c.bus.acceptStream(cmd.streamId);
        return {};
      },
    });
    await c.transport.flush();
    const tech = await a.openStream('agent-2', 'file');
    expect(far).toBeDefined();
    // The technician's side fills the window the agent side never reads, then waits for credit.
    const stuck = tech.write(new Uint8Array(WINDOW * 2));
    await until(() => far!.queuedBytes === WINDOW, 3000, 'window full');
    // node-c's connection drops without an end (a SIGKILL does the same; test/cluster/process.test.ts).
    const t0 = performance.now();
    await c.transport.close();
    const lost = await tech.closed;
    expect(lost?.code).toBe('OUTPOST_E_NODE_LOST');
    expect(performance.now() - t0).toBeLessThan(FAST.stream!.deadAfterMs + 1000);
    await expect(stuck).rejects.toMatchObject({ code: 'OUTPOST_E_NODE_LOST' });
    await c.bus.stop().catch(() => {});
  });

  it('refuses to open a stream to an agent no node holds, at once', async () => {
    const t0 = performance.now();
    await expect(a.openStream('agent-none', 'shell')).rejects.toMatchObject({ code: 'OUTPOST_E_AGENT_OFFLINE' });
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
