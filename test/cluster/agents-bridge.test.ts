/**
 * Live agent sockets on the bus (collector/src/cluster/agents-bridge.ts) over a real nats-server: three nodes, each
 * with its own ConnectionRegistry; an agent's real WebSocket registered on node-b receives a message node-a sends
 * it; when the agent reconnects to node-c its socket on node-b is closed as replaced (4409, naming node-c) and
 * messages go to node-c; when it leaves, sending is "offline" at once.
 */
import { once } from 'node:events';
import { OutpostError } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { AgentConnection, ConnectionRegistry } from '../../collector/src/agents/registry.js';
import * as cluster from '../../collector/src/cluster/index.js';
import { type NatsServer, natsUnavailable, testNats } from '../support/nats.js';
import { codeOf, startNodes, type TestNode, until } from './nodes.js';

const skip = natsUnavailable();
if (skip) console.warn(`skipping the agents bridge test: ${skip}`);

describe.skipIf(skip)('agent sockets on the node bus', () => {
  let nats: NatsServer;
  let nodes: TestNode[] & AsyncDisposable;
  let wss: WebSocketServer;
  const registries = [new ConnectionRegistry(), new ConnectionRegistry(), new ConnectionRegistry()];

  beforeAll(async () => {
    nats = await testNats();
    nodes = await startNodes(nats.url, ['node-a', 'node-b', 'node-c']);
    for (const [i, n] of nodes.entries()) cluster.bridgeAgents(n.bus, registries[i]!);
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
  });
  afterAll(async () => {
    wss?.close();
    await nodes?.[Symbol.asyncDispose]();
    await nats?.[Symbol.asyncDispose]();
  });

  /** A real agent-side socket and the collector-side connection registered on node `i`. */
  async function connectAgent(i: number, agentId: string) {
    const { port } = wss.address() as { port: number };
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const received: unknown[] = [];
    client.on('message', (d) => received.push(JSON.parse(String(d))));
    const closed = once(client, 'close') as Promise<[number, Buffer]>;
    await once(client, 'open');
    const [server] = await accepted;
    const conn = new AgentConnection({
      agentId,
      clientId: 'cl_1',
      siteId: 'st_1',
      socket: server,
      remoteIp: '127.0.0.1',
      connectedAt: Date.now(),
    });
    registries[i]!.add(conn);
    await nodes[i]!.transport.flush();
    return { client, conn, received, closed };
  }

  it('reaches the agent on its node, follows it to another node, and says offline once it left', async () => {
    const id = 'ag_0123456789abcdef01234567';
    const onB = await connectAgent(1, id);
    const a = nodes[0]!.bus;
    expect(await cluster.sendToAgent(a, registries[0]!, id, { type: 'stream.ack', seq: 7 })).toBe('node-b');
    await until(() => onB.received.length === 1, 2000, 'the message on the agent socket');
    expect(onB.received).toEqual([{ type: 'stream.ack', seq: 7 }]);
    // Held on node-b only: node-c answers locally nothing, the bus knows where it is.
    expect((await a.request(id, { type: 'agent.where' })).node).toBe('node-b');

    // The agent reconnects to node-c (its old socket on node-b is half-open, as after a network change).
    const onC = await connectAgent(2, id);
    const [code, reason] = await onB.closed;
    expect(code).toBe(new OutpostError('OUTPOST_E_REPLACED').wsCloseCode);
    expect(String(reason)).toBe('OUTPOST_E_REPLACED node=node-c');
    await until(() => nodes[1]!.bus.held === 0, 2000, 'node-b to let go');
    await nodes[1]!.transport.flush();
    expect(await cluster.sendToAgent(a, registries[0]!, id, { type: 'stream.ack', seq: 8 })).toBe('node-c');
    await until(() => onC.received.length === 1, 2000, 'the message on the new socket');
    expect(onC.received).toEqual([{ type: 'stream.ack', seq: 8 }]);

    // A relayed session is refused with a code until the sessions concern takes it.
    await expect(a.openStream(id, 'shell')).rejects.toMatchObject({ code: 'OUTPOST_E_SESSION_REFUSED' });

    // It leaves: offline everywhere, at once.
    registries[2]!.remove(onC.conn);
    onC.client.close();
    await nodes[2]!.transport.flush();
    const off = await codeOf(cluster.sendToAgent(a, registries[0]!, id, { type: 'stream.ack', seq: 9 }));
    expect(off.code).toBe('OUTPOST_E_AGENT_OFFLINE');
    expect(off.ms).toBeLessThan(500);
  });
});
