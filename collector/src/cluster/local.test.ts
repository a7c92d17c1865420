/**
 * The bus on the in-process transport (what a single `outpost serve` uses, no NATS): the same commands and streams
 * as over NATS (test/cluster/ runs those against a real nats-server), plus the stream protocol's refusals — frames
 * out of order, bytes past the granted credit, control frames that are not JSON — each ending the stream with its
 * code on both sides instead of corrupting it or throwing.
 */
import { OutpostError } from '@outpost/shared';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeBus } from './bus.js';
import type { BusStream } from './stream.js';
import { LocalTransport } from './transport.js';
import { subjects } from './wire.js';

const clock = { now: () => Date.now() };
const logger = pino({ level: 'silent' });
const STREAM = { windowBytes: 64 * 1024, frameBytes: 16 * 1024, keepaliveMs: 50, deadAfterMs: 400 };

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

/** One transport, one bus (the single node), holding `agent-1` whose handler accepts streams. */
async function singleNode() {
  const transport = new LocalTransport();
  const bus = new NodeBus({
    transport,
    deployment: 'solo',
    nodeId: 'only',
    clock,
    logger,
    options: { heartbeatMs: 50, nodeTtlMs: 200, stream: STREAM },
  });
  await bus.start();
  const accepted: BusStream[] = [];
  bus.hold('agent-1', {
    handler: async (cmd) => {
      if (cmd.type === 'stream.open') accepted.push(await bus.acceptStream(cmd.streamId));
      return { type: cmd.type };
    },
  });
  cleanup.push(async () => {
    await bus.stop();
    await transport.close();
  });
  return { transport, bus, accepted };
}

describe('node bus in process', () => {
  it('answers commands for held agents and refuses others as offline at once', async () => {
    const { bus } = await singleNode();
    expect(await bus.request('agent-1', { type: 'agent.where' })).toEqual({
      node: 'only',
      result: { type: 'agent.where' },
    });
    await expect(bus.request('agent-2', { type: 'agent.where' })).rejects.toMatchObject({
      code: 'OUTPOST_E_AGENT_OFFLINE',
    });
    await expect(bus.request('agent 1', { type: 'agent.where' })).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_REQUEST',
    });
    expect(bus.presence.nodeOf('agent-1')).toBe('only');
  });

  it('checks a message for the agent against the agent protocol before the holder sees it', async () => {
    const { bus, transport } = await singleNode();
    const seen: unknown[] = [];
    bus.hold('agent-9', {
      handler: async (cmd) => {
        seen.push(cmd);
        return {};
      },
    });
    await bus.request('agent-9', { type: 'agent.send', message: { type: 'stream.ack', seq: 3 } });
    expect(seen).toEqual([{ type: 'agent.send', message: { type: 'stream.ack', seq: 3 } }]);
    // What a buggy node could build: a message type the agent does not speak, sent raw past the typed API.
    const raw = new TextEncoder().encode(
      JSON.stringify({ from: 'x', agentId: 'agent-9', command: { type: 'agent.send', message: { type: 'rm.rf' } } }),
    );
    const reply = JSON.parse(
      new TextDecoder().decode(await transport.request(subjects('solo').agent('agent-9'), raw, 1000)),
    );
    expect(reply).toMatchObject({ ok: false, code: 'OUTPOST_E_BAD_MESSAGE' });
    expect(seen).toHaveLength(1);
  });

  it('relays a stream both ways and ends it normally', async () => {
    const { bus, accepted } = await singleNode();
    const tech = await bus.openStream('agent-1', 'shell');
    const agent = accepted[0]!;
    const reading = (async () => {
      let n = 0;
      for await (const c of tech) n += c.length;
      return n;
    })();
    // 200 kB through a 64 kB window: the write resolves only because the reader grants credit as it reads.
    await agent.write(new Uint8Array(200_000).fill(7));
    await tech.write(new TextEncoder().encode('exit\n'));
    expect(new TextDecoder().decode((await agent.read())!)).toBe('exit\n');
    await agent.close();
    const n = await reading;
    expect(n).toBe(200_000);
    expect(await tech.closed).toBeUndefined();
    expect(await agent.closed).toBeUndefined();
  });

  /** Opens a stream and returns the technician's side plus a raw publisher to it (what a broken peer sends). */
  async function rawPeer() {
    const { transport, bus, accepted } = await singleNode();
    const tech = await bus.openStream('agent-1', 'file');
    const agent = accepted[0]!;
    await agent.write(new Uint8Array(10)); // frame 1, so the opener has seen the acceptor's open
    const subject = subjects('solo').stream(tech.id, 'a');
    const frame = (seq: number, bytes: number) => {
      const f = new Uint8Array(5 + bytes);
      new DataView(f.buffer).setUint32(1, seq);
      return f;
    };
    return { tech, agent, send: (d: Uint8Array) => transport.publish(subject, d), frame };
  }

  it.each([
    [
      'a frame out of order',
      (p: Awaited<ReturnType<typeof rawPeer>>) => p.send(p.frame(5, 10)),
      'OUTPOST_E_BUS_STREAM',
    ],
    [
      'bytes past the credit granted',
      (p: Awaited<ReturnType<typeof rawPeer>>) => p.send(p.frame(2, STREAM.windowBytes)),
      'OUTPOST_E_BUS_STREAM',
    ],
    [
      'a control frame that is not JSON',
      (p: Awaited<ReturnType<typeof rawPeer>>) => p.send(new TextEncoder().encode('{"t":"credit","credit":-1}')),
      'OUTPOST_E_BAD_MESSAGE',
    ],
    [
      'a frame shorter than its header',
      (p: Awaited<ReturnType<typeof rawPeer>>) => p.send(new Uint8Array(2)),
      'OUTPOST_E_BUS_STREAM',
    ],
  ])('ends the stream on both sides on %s', async (_what, misbehave, code) => {
    const p = await rawPeer();
    misbehave(p);
    expect((await p.tech.closed)?.code).toBe(code);
    // The coded end went to the other side too.
    expect((await p.agent.closed)?.code).toBe(code);
    // What arrived before the fault is still read, then the code.
    expect((await p.tech.read())?.length).toBe(10);
    await expect(p.tech.read()).rejects.toBeInstanceOf(OutpostError);
  });

  it('ends a stream whose peer goes silent with OUTPOST_E_NODE_LOST', async () => {
    const { bus, accepted, transport } = await singleNode();
    const tech = await bus.openStream('agent-1', 'shell');
    // The wire goes silent (a dead process sends nothing, not even its end): both sides time out on their own.
    await transport.close();
    expect((await tech.closed)?.code).toBe('OUTPOST_E_NODE_LOST');
    expect((await accepted[0]!.closed)?.code).toBe('OUTPOST_E_NODE_LOST');
  });
});
