/**
 * Two nodes as two processes on a real nats-server: this test's process (the technician's node) and a child process
 * holding an agent (test/cluster/node-process.ts). The child is SIGKILLed while it streams: commands for its agent
 * are answered "offline" at once, the stream ends with OUTPOST_E_NODE_LOST, presence forgets the node.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, repoRoot, spawnProcess } from '../support/collector.js';
import { type NatsServer, natsUnavailable, testNats } from '../support/nats.js';
import { codeOf, DEPLOYMENT, FAST, patterned, startNodes, type TestNode, until } from './nodes.js';

const skip = natsUnavailable();
if (skip) console.warn(`skipping the two-process bus test: ${skip}`);

describe.skipIf(skip)('a node process killed while it streams', () => {
  let nats: NatsServer;
  let nodes: TestNode[] & AsyncDisposable;
  let child: Proc;

  beforeAll(async () => {
    nats = await testNats();
    nodes = await startNodes(nats.url, ['node-a']);
    const script = join(repoRoot, 'test/cluster/node-process.ts');
    child = spawnProcess(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', script, nats.url, 'node-p', DEPLOYMENT],
      process.env,
      repoRoot,
    );
    await child.waitFor(/ready/, 20_000);
  });
  afterAll(async () => {
    await child?.[Symbol.asyncDispose]();
    await nodes?.[Symbol.asyncDispose]();
    await nats?.[Symbol.asyncDispose]();
  });

  it('routes to the other process, then ends everything with coded reasons when it dies', async () => {
    const a = nodes[0]!.bus;
    const where = await a.request('agent-p', { type: 'agent.where' });
    expect(where).toEqual({ node: 'node-p', result: { pid: child.child.pid } });
    await until(() => a.presence.nodeOf('agent-p') === 'node-p', 2000, 'presence of node-p');

    const tech = await a.openStream('agent-p', 'shell');
    let received = 0;
    for (;;) {
      const c = (await tech.read())!;
      expect(Buffer.from(c).equals(Buffer.from(patterned(c.length, received)))).toBe(true);
      received += c.length;
      if (received >= 2 * 1024 * 1024) break;
    }
    // Stop reading: the child stalls on credit, nothing piles up here.
    await until(() => tech.queuedBytes === FAST.stream!.windowBytes, 3000, 'window full');

    const killedAt = performance.now();
    await child.kill('SIGKILL');
    // The server sees the socket close: no responders at once (a retry or two while it notices).
    await until(() => a.presence.nodeOf('agent-p') === undefined, 3000, 'presence to expire');
    const offline = await codeOf(a.request('agent-p', { type: 'agent.where' }));
    expect(offline.code).toBe('OUTPOST_E_AGENT_OFFLINE');
    expect(offline.ms).toBeLessThan(500);

    const lost = await tech.closed;
    expect(lost?.code).toBe('OUTPOST_E_NODE_LOST');
    expect(performance.now() - killedAt).toBeLessThan(FAST.stream!.deadAfterMs + 1500);
    // What was queued is still read, then the coded end.
    let tail = 0;
    await expect(
      (async () => {
        for (;;) {
          const c = await tech.read();
          if (!c) return;
          tail += c.length;
        }
      })(),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_NODE_LOST' });
    expect(tail).toBe(FAST.stream!.windowBytes);
  });
});
