/**
 * The console's live stream across nodes, three nodes on one in-process transport (the same bus code as over NATS):
 * a viewer connected to node A sees an agent coming online on node B and an incident changed on node B, once, and
 * only within the clients it may see (checked by A's hub, as for A's own changes); a change made on A reaches B; an
 * agent that moved to node C is not announced offline by the node it left; an off-schema message on a live subject
 * is logged with OUTPOST_E_BAD_MESSAGE and dropped. Also the presence settling that orphan recovery waits for.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionRegistry } from './agents/index.js';
import { AgentReach, LocalTransport, NodeBus, type NodeBusHandle, subjects } from './cluster/index.js';
import { type LiveEvent, LiveHub, type LiveSubscriber } from './live/index.js';
import { liveAcrossNodes } from './wire-cluster.js';

const clock = { now: () => Date.now() };
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

/** Log lines written by the nodes (warnings and up). */
const logged: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'warn' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  }),
);

/** One node: its bus on the shared transport, its hub and what its core publishes through. */
async function node(transport: LocalTransport, nodeId: string) {
  const bus = new NodeBus({
    transport,
    deployment: 'live',
    nodeId,
    clock,
    logger,
    options: { heartbeatMs: 100, nodeTtlMs: 400 },
  });
  const handle: NodeBusHandle = { bus, transport, clustered: true, start: () => undefined, stop: () => bus.stop() };
  await bus.start();
  cleanup.push(() => bus.stop());
  const hub = new LiveHub(logger, { perUser: 8, total: 100 });
  const publish = liveAcrossNodes(handle, hub, new AgentReach(bus, new ConnectionRegistry(), logger));
  return { bus, hub, publish };
}

/** A browser's stream on a hub, seeing `clients` (undefined: all), with the events it received. */
function viewer(hub: LiveHub, clients: string[] | undefined) {
  const events: LiveEvent[] = [];
  const sub: LiveSubscriber = {
    userId: `u-${clients?.join('-') ?? 'all'}`,
    clients,
    write: (chunk) => {
      const data = /^data: (.*)$/m.exec(chunk)?.[1];
      if (data) events.push(JSON.parse(data) as LiveEvent);
      return true;
    },
    end: () => undefined,
  };
  hub.subscribe(sub);
  return events;
}

const presence = (agentId: string, clientId: string, status: 'online' | 'offline'): LiveEvent => ({
  type: 'agent.presence',
  agentId,
  clientId,
  status,
  at: Date.now(),
});
const incident = (incidentId: string, clientId: string): LiveEvent => ({
  type: 'incident.changed',
  incidentId,
  clientId,
  status: 'open',
  at: Date.now(),
});
const ids = (events: LiveEvent[]) => events.map((e) => (e.type === 'agent.presence' ? e.agentId : e.incidentId));

describe('live stream across nodes', () => {
  it("pushes node B's presence and incident changes to node A's viewers, scoped per viewer on A", async () => {
    const transport = new LocalTransport();
    const a = await node(transport, 'node-a');
    const b = await node(transport, 'node-b');
    const admin = viewer(a.hub, undefined);
    const client1 = viewer(a.hub, ['cl_1']);
    const client2 = viewer(a.hub, ['cl_2']);
    const onB = viewer(b.hub, undefined);

    b.bus.hold('ag_1', { handler: async () => ({}) });
    b.publish(presence('ag_1', 'cl_1', 'online'));
    b.publish(incident('in_1', 'cl_2'));
    a.publish(incident('in_2', 'cl_1'));
    // Each node's own changes reach its viewers at once, the other's a moment later: compared as sets.
    await expect.poll(() => ids(admin).sort()).toEqual(['ag_1', 'in_1', 'in_2']);
    await expect.poll(() => ids(onB).sort()).toEqual(['ag_1', 'in_1', 'in_2']);
    expect(ids(client1).sort()).toEqual(['ag_1', 'in_2']);
    expect(ids(client2)).toEqual(['in_1']);
    expect(admin.find((e) => e.type === 'agent.presence')).toMatchObject({
      type: 'agent.presence',
      agentId: 'ag_1',
      clientId: 'cl_1',
      status: 'online',
    });
  });

  it('does not announce offline an agent that moved to another node', async () => {
    const transport = new LocalTransport();
    const a = await node(transport, 'node-a');
    const b = await node(transport, 'node-b');
    const c = await node(transport, 'node-c');
    const admin = viewer(a.hub, undefined);
    b.bus.hold('ag_1', { handler: async () => ({}) });
    await expect.poll(() => a.bus.presence.nodeOf('ag_1')).toBe('node-b');
    c.bus.hold('ag_1', { handler: async () => ({}) }); // it reconnected to C: B releases it on hearing so
    c.publish(presence('ag_1', 'cl_1', 'online'));
    await expect.poll(() => b.bus.presence.nodeOf('ag_1')).toBe('node-c');
    b.publish(presence('ag_1', 'cl_1', 'offline')); // B's stale socket closing
    c.publish(incident('in_marker', 'cl_1'));
    await expect.poll(() => ids(admin)).toEqual(['ag_1', 'in_marker']);
    expect(admin.map((e) => e.type === 'agent.presence' && e.status)).toEqual(['online', false]);
    // Gone from every node: announced offline.
    c.bus.release('ag_1');
    await expect.poll(() => a.bus.presence.nodeOf('ag_1')).toBeUndefined();
    c.publish(presence('ag_1', 'cl_1', 'offline'));
    await expect.poll(() => admin.at(-1)).toMatchObject({ agentId: 'ag_1', status: 'offline' });
  });

  it('drops an off-schema live message with a logged OUTPOST_E_BAD_MESSAGE and keeps serving', async () => {
    const transport = new LocalTransport();
    const a = await node(transport, 'node-a');
    const b = await node(transport, 'node-b');
    const admin = viewer(a.hub, undefined);
    const subject = subjects('live').live('cl_1');
    const bad = { origin: 'node-b', event: { ...incident('in_bad', 'cl_1'), script: '<x>' } };
    transport.publish(subject, new TextEncoder().encode(JSON.stringify(bad)));
    transport.publish(subject, new TextEncoder().encode('{"origin":'));
    b.publish(incident('in_ok', 'cl_1'));
    await expect.poll(() => ids(admin)).toEqual(['in_ok']);
    const refused = logged.filter((l) => l.bus === 'live' && l.code === 'OUTPOST_E_BAD_MESSAGE');
    // Each bad message reached both nodes' buses.
    expect(refused.length).toBe(4);
  });

  it('settles presence one node TTL after the start: the live nodes, every one heard', async () => {
    const transport = new LocalTransport();
    const b = await node(transport, 'node-b');
    const a = await node(transport, 'node-a');
    const t0 = performance.now();
    expect([...(await a.bus.liveNodes())].sort()).toEqual(['node-a', 'node-b']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(350);
    await b.bus.stop();
    const stopping = new AbortController();
    stopping.abort();
    await expect(b.bus.liveNodes(stopping.signal)).rejects.toMatchObject({ code: 'OUTPOST_E_UNAVAILABLE' });
  });
});
