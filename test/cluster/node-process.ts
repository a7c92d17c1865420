/**
 * A bus node as a process of its own, for test/cluster/process.test.ts (run with `node --import tsx
 * --conditions=source`): it holds `agent-p`, answers `agent.where` with its pid, and on `stream.open` writes a
 * patterned byte stream until the stream ends, as an agent's shell output would. Prints `ready` once it serves.
 */
import { FAST, patterned, startNode } from './nodes.js';

const [url, nodeId, deployment] = process.argv.slice(2);
if (!url || !nodeId || !deployment) throw new Error('usage: node-process.ts NATS_URL NODE_ID DEPLOYMENT');
const node = await startNode(url, nodeId, deployment, FAST);
node.bus.hold('agent-p', {
  handler: async (cmd) => {
    if (cmd.type === 'agent.where') return { pid: process.pid };
    if (cmd.type !== 'stream.open') return {};
    const stream = await node.bus.acceptStream(cmd.streamId);
    void (async () => {
      for (let off = 0; ; off += 65_536) await stream.write(patterned(65_536, off));
    })().catch(() => {}); // ends when the stream does
    return { streamId: cmd.streamId };
  },
});
await node.transport.flush();
process.stdout.write('ready\n');
