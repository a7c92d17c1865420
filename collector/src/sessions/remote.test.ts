/**
 * A session relayed between two nodes (remote.ts), in process: two NodeBus instances on one LocalTransport, the
 * agent's node with a real loopback WebSocket as the agent's socket and the real channel relay. What the technician's
 * node sends reaches the agent on the agent node's own channel id; what the agent answers comes back on the
 * technician node's id; anything but a channel's own messages, or a second opening, ends the relay with a code; the
 * agent leaving ends the technician's side "offline".
 */
import { once } from 'node:events';
import { decodeFrame, encodeFrame, FrameKind, OutpostError, type ShellOpen } from '@outpost/shared';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { AgentLink, ChannelReply } from '../agents/index.js';
import { AgentConnection, ConnectionRegistry } from '../agents/registry.js';
import { bridgeAgents, LocalTransport, NodeBus } from '../cluster/index.js';
import { systemClock } from '../config.js';
import { ChannelRelay } from './relay.js';
import { RelayedChannel, RemoteAgentLink } from './remote.js';

const logger = pino({ level: 'silent' });
const AGENT = 'ag_0123456789abcdef01234567';
const SESSION = `ss_${'ab'.repeat(12)}`;

const open = (channel: number): ShellOpen => ({
  type: 'shell.open',
  id: SESSION,
  expiresAt: Date.now() + 10_000,
  sessionId: SESSION,
  channel,
  ticket: 'claims.signature',
  cols: 80,
  rows: 24,
  elevated: false,
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 3000; !cond(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let wss: WebSocketServer;
let buses: NodeBus[];
let agentSide: WebSocket;
let conn: AgentConnection;
let relayB: ChannelRelay;
let toAgent: { json: unknown[]; frames: Buffer[] };
let atA: { frames: Buffer[]; replies: ChannelReply[]; closed: { code: string; reason: string } | undefined };
let link: RemoteAgentLink;
let relayed: RelayedChannel[];

beforeEach(async () => {
  const transport = new LocalTransport();
  buses = ['node-a', 'node-b'].map(
    (nodeId) => new NodeBus({ transport, deployment: 't', nodeId, clock: systemClock, logger }),
  );
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  agentSide = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  toAgent = { json: [], frames: [] };
  agentSide.on('message', (d: Buffer, binary) =>
    binary ? toAgent.frames.push(d) : toAgent.json.push(JSON.parse(String(d))),
  );
  await once(agentSide, 'open');
  const [server] = await accepted;
  conn = new AgentConnection({
    agentId: AGENT,
    clientId: 'cl_1',
    siteId: 'st_1',
    socket: server,
    remoteIp: '127.0.0.1',
    connectedAt: Date.now(),
  });
  // Node B: the agent's socket, its relay, and sessions from other nodes accepted as RelayedChannels.
  const registry = new ConnectionRegistry();
  relayed = [];
  relayB = new ChannelRelay(logger);
  relayB.allocate(conn, { sessionId: SESSION, resolve: () => undefined }); // channel 1 is taken on B: ids differ
  bridgeAgents(buses[1]!, registry, (c, stream) => {
    const r = new RelayedChannel(
      c,
      stream,
      { allocate: (x, p) => relayB.allocate(x, p), release: (x, ch) => relayB.release(x, ch) },
      logger,
    );
    relayed.push(r);
    void r.run();
  });
  registry.add(conn);
  // Node A: the technician's side.
  atA = { frames: [], replies: [], closed: undefined };
  link = new RemoteAgentLink(AGENT, await buses[0]!.openStream(AGENT, 'shell'), logger);
  link.run({
    onFrame: (_l: AgentLink, data) => atA.frames.push(data) > 0,
    onReply: (_l, msg) => atA.replies.push(msg),
    onClose: (_l, code, reason) => {
      atA.closed = { code, reason };
    },
  });
});

afterEach(async () => {
  agentSide.close();
  wss.close();
});

describe('a session relayed to the node holding the agent', () => {
  it('rewrites channel ids both ways: the agent sees only its node’s channel, the technician’s node only its own', async () => {
    link.send(open(1));
    await until(() => toAgent.json.length === 1, 'shell.open on the agent socket');
    const sent = toAgent.json[0] as ShellOpen;
    expect(sent).toMatchObject({ type: 'shell.open', sessionId: SESSION });
    expect(sent.channel).toBe(2); // B's own id, not A's 1
    relayB.onReply(conn, { type: 'shell.opened', channel: 2, sessionId: SESSION, pid: 42, user: 'nobody' });
    relayB.onFrame(conn, encodeFrame(FrameKind.Data, 2, Buffer.from('hello')));
    await until(() => atA.frames.length === 1 && atA.replies.length === 1, 'the reply and the frame on node A');
    expect(atA.replies[0]).toMatchObject({ type: 'shell.opened', channel: 1, pid: 42 });
    const frame = decodeFrame(atA.frames[0]!);
    expect(frame.channel).toBe(1);
    expect(Buffer.from(frame.payload).toString()).toBe('hello');
    link.sendFrame(encodeFrame(FrameKind.Data, 1, Buffer.from('ls\n')));
    await until(() => toAgent.frames.length === 1, 'the input frame on the agent socket');
    expect(decodeFrame(toAgent.frames[0]!).channel).toBe(2);
    // The session ends on A: the stream closes, B tells the agent and frees its channel.
    link.close();
    await until(() => toAgent.json.length === 2, 'shell.close on the agent socket');
    expect(toAgent.json[1]).toMatchObject({ type: 'shell.close', channel: 2 });
    expect(atA.closed).toBeUndefined();
  });

  it('ends the relay with OUTPOST_E_BAD_MESSAGE on a second opening, and on a message that is not a channel’s', async () => {
    link.send(open(1));
    await until(() => toAgent.json.length === 1, 'the first opening');
    link.send(open(1));
    await until(() => atA.closed !== undefined, 'the relay to end');
    expect(atA.closed!.code).toBe('OUTPOST_E_BAD_MESSAGE');
    await until(() => toAgent.json.length === 2, 'the channel closed on the agent');
    expect(toAgent.json[1]).toMatchObject({ type: 'shell.close', channel: 2 });

    const other = new RemoteAgentLink(AGENT, await buses[0]!.openStream(AGENT, 'shell'), logger);
    let closed: string | undefined;
    other.run({ onFrame: () => true, onReply: () => undefined, onClose: (_l, code) => (closed = code) });
    other.send({ type: 'job.cancel', id: 'jb_1' });
    await until(() => closed !== undefined, 'the second relay to end');
    expect(closed).toBe('OUTPOST_E_BAD_MESSAGE');
    expect(toAgent.json).toHaveLength(2); // nothing reached the agent
  });

  it('ends the technician’s side with OUTPOST_E_AGENT_OFFLINE when the agent’s socket closes on its node', async () => {
    link.send(open(1));
    await until(() => toAgent.json.length === 1, 'the opening');
    relayB.onClose(conn);
    await until(() => atA.closed !== undefined, 'the relay to end');
    expect(atA.closed!.code).toBe('OUTPOST_E_AGENT_OFFLINE');
  });

  it('ends the technician’s side at once with the code when the agent’s node stops', async () => {
    link.send(open(1));
    await until(() => toAgent.json.length === 1, 'the opening');
    relayed[0]!.end(new OutpostError('OUTPOST_E_UNAVAILABLE', { message: 'collector stopping' }));
    await until(() => atA.closed !== undefined, 'the relay to end');
    expect(atA.closed!.code).toBe('OUTPOST_E_UNAVAILABLE');
    await until(() => toAgent.json.length === 2, 'the channel closed on the agent');
    expect(toAgent.json[1]).toMatchObject({ type: 'shell.close', channel: 2 });
  });
});
