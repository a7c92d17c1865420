/**
 * The node bus against a real nats-server (test/support/nats.ts), with three bus instances standing for three
 * collector nodes, each on its own NATS connection: commands reach the node holding the agent, "no responders" is
 * answered at once, an agent moving node moves its route, presence expires with a dead node, invalidations drop
 * cached entries everywhere, and malformed bus messages are coded refusals that leave the bus working.
 */
// The concern alone, not the whole collector's index: a third of the collect time.

import { OutpostError } from '@outpost/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as cluster from '../../collector/src/cluster/index.js';
import { type NatsServer, natsUnavailable, testNats } from '../support/nats.js';
import { clock, codeOf, DEPLOYMENT, startNode, startNodes, type TestNode, until } from './nodes.js';

const skip = natsUnavailable();
if (skip) console.warn(`skipping the node bus tests: ${skip}`);

describe.skipIf(skip)('node bus over NATS', () => {
  let nats: NatsServer;
  let nodes: TestNode[] & AsyncDisposable;
  let a: cluster.NodeBus;
  let b: cluster.NodeBus;
  let c: cluster.NodeBus;

  beforeAll(async () => {
    nats = await testNats();
    nodes = await startNodes(nats.url, ['node-a', 'node-b', 'node-c']);
    [a, b, c] = nodes.map((n) => n.bus) as [cluster.NodeBus, cluster.NodeBus, cluster.NodeBus];
  });
  afterAll(async () => {
    await nodes?.[Symbol.asyncDispose]();
    await nats?.[Symbol.asyncDispose]();
  });

  const where = (node: string) => async () => ({ here: node });

  it('sends a command to the node holding the agent, and answers "offline" at once when no node does', async () => {
    b.hold('agent-1', { handler: where('node-b') });
    await nodes[1]!.transport.flush();
    const r = await a.request('agent-1', { type: 'agent.where' });
    expect(r).toEqual({ node: 'node-b', result: { here: 'node-b' } });
    expect((await c.request('agent-1', { type: 'agent.where' })).node).toBe('node-b');

    // Nobody holds agent-9: NATS says "no responders" at once, long before the 2 s request timeout.
    const offline = await codeOf(a.request('agent-9', { type: 'agent.where' }));
    expect(offline.code).toBe('OUTPOST_E_AGENT_OFFLINE');
    expect(offline.ms).toBeLessThan(500);

    // Released: offline again, at once.
    b.release('agent-1');
    await nodes[1]!.transport.flush();
    expect((await codeOf(a.request('agent-1', { type: 'agent.where' }))).code).toBe('OUTPOST_E_AGENT_OFFLINE');
  });

  it('passes a refusal through with its code, and times out a holder that does not answer', async () => {
    b.hold('agent-2', {
      handler: async () => {
        throw new OutpostError('OUTPOST_E_FORBIDDEN', { message: 'not this one' });
      },
    });
    c.hold('agent-3', { handler: () => new Promise(() => {}) });
    await Promise.all([nodes[1]!.transport.flush(), nodes[2]!.transport.flush()]);
    const refused = await a.request('agent-2', { type: 'agent.where' }).catch((e: OutpostError) => e);
    expect(refused).toBeInstanceOf(OutpostError);
    expect((refused as OutpostError).code).toBe('OUTPOST_E_FORBIDDEN');
    expect((refused as OutpostError).message).toBe('not this one');

    const slow = await codeOf(a.request('agent-3', { type: 'agent.where' }, 300));
    expect(slow.code).toBe('OUTPOST_E_BUS_TIMEOUT');
    expect(slow.ms).toBeGreaterThanOrEqual(290);
    b.release('agent-2');
    c.release('agent-3');
  });

  it('moves the route when the agent reconnects to another node, and the old node lets go of it', async () => {
    const moved: string[] = [];
    b.hold('agent-4', { handler: where('node-b'), onMoved: (to) => moved.push(to) });
    await until(() => a.presence.nodeOf('agent-4') === 'node-b', 2000, 'presence on node-a');
    c.hold('agent-4', { handler: where('node-c') });
    await until(() => moved.length === 1, 2000, 'node-b to hear the move');
    expect(moved).toEqual(['node-c']);
    expect(b.held).toBe(0);
    await nodes[1]!.transport.flush();
    for (let i = 0; i < 5; i++) expect((await a.request('agent-4', { type: 'agent.where' })).node).toBe('node-c');
    await until(() => a.presence.nodeOf('agent-4') === 'node-c', 2000, 'presence moved');
    c.release('agent-4');
  });

  it('tells a joining node who holds what, and forgets a dead node’s agents within the TTL', async () => {
    const d = await startNode(nats.url, 'node-d');
    for (let i = 0; i < 2500; i++) d.bus.hold(`agent-d${i}`, { handler: where('node-d') });
    await until(() => a.presence.nodeOf('agent-d2499') === 'node-d', 3000, 'node-d’s agents on node-a');

    // A node that joins later learns them from a resync (2,500 agents: three batches).
    const e = await startNode(nats.url, 'node-e');
    try {
      await until(() => e.bus.presence.nodeOf('agent-d1234') === 'node-d', 3000, 'resync to node-e');
      expect(e.bus.presence.nodes().find((n) => n.node === 'node-d')?.agents).toBe(2500);

      // node-d dies without a word (its connection drops, as a SIGKILL would): commands fail at once, presence
      // forgets it after its TTL.
      await d.transport.close();
      const t0 = performance.now();
      await until(() => a.presence.nodeOf('agent-d7') === undefined, 3000, 'node-d to expire');
      expect(performance.now() - t0).toBeLessThan(1500);
      expect((await codeOf(a.request('agent-d7', { type: 'agent.where' }))).code).toBe('OUTPOST_E_AGENT_OFFLINE');
      expect(a.presence.nodes().map((n) => n.node)).not.toContain('node-d');
    } finally {
      await e.bus.stop();
      await e.transport.close();
      await d.bus.stop().catch(() => {});
    }
  });

  it('drops a cached entry on every node when any node invalidates it', async () => {
    let reads = 0;
    const load = async () => ({ revoked: false, read: ++reads });
    const onB = new cluster.InvalidatedCache<{ revoked: boolean; read: number }>('revocation', b, clock, 60_000);
    const onC = new cluster.InvalidatedCache<{ revoked: boolean; read: number }>('revocation', c, clock, 60_000);
    const policiesOnC = new cluster.InvalidatedCache<{ revoked: boolean; read: number }>('policy', c, clock, 60_000);
    await onB.get('agent-7', load);
    await onC.get('agent-7', load);
    await onC.get('agent-8', load);
    await policiesOnC.get('agent-7', load);
    expect(reads).toBe(4);

    a.invalidate('revocation', 'agent-7');
    await until(() => !onB.has('agent-7') && !onC.has('agent-7'), 2000, 'invalidation');
    expect(onC.has('agent-8')).toBe(true); // another key of the kind stays
    expect(policiesOnC.has('agent-7')).toBe(true); // the same key of another kind stays
    expect((await onB.get('agent-7', load)).read).toBe(5); // read again from the source of truth

    a.invalidate('revocation', '*');
    await until(() => !onC.has('agent-8'), 2000, 'invalidate all');
    for (const x of [onB, onC, policiesOnC]) x.close();
  });

  it('refuses malformed bus messages with a logged code and keeps working', async () => {
    // A bare connection: what a buggy or hostile peer on the bus could send, bytes the bus never produces itself.
    const raw = await cluster.natsTransport({ servers: [nats.url], name: 'raw', logger: pino({ level: 'silent' }) });
    try {
      const s = cluster.subjects(DEPLOYMENT);
      const enc = new TextEncoder();
      raw.publish(s.heartbeat, enc.encode('{"node":"x y","agents":-1}'));
      raw.publish(s.presence, enc.encode('not json'));
      raw.publish(s.invalidate('policy'), new Uint8Array([0xff, 0xfe]));
      b.hold('agent-5', { handler: where('node-b') });
      await nodes[1]!.transport.flush();
      const reply = await raw.request(s.agent('agent-5'), enc.encode('{"from":"node-z","agentId":"agent-5"}'), 2000);
      expect(JSON.parse(new TextDecoder().decode(reply))).toMatchObject({
        ok: false,
        node: 'node-b',
        code: 'OUTPOST_E_BAD_MESSAGE',
      });
      const refusals = () => nodes[1]!.logs.filter((l) => l.code === 'OUTPOST_E_BAD_MESSAGE');
      await until(() => refusals().length >= 4, 2000, 'four logged refusals');
      expect(new Set(refusals().map((l) => l.bus))).toEqual(
        new Set(['heartbeat', 'presence', 'invalidation', 'command']),
      );
      // Still serving.
      expect((await a.request('agent-5', { type: 'agent.where' })).node).toBe('node-b');
      await expect(a.request('bad.agent', { type: 'agent.where' })).rejects.toMatchObject({
        code: 'OUTPOST_E_BAD_REQUEST',
      });
    } finally {
      b.release('agent-5');
      await raw.close();
    }
  });
});
