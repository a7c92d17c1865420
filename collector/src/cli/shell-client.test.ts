import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ShellClient } from './shell-client.js';

/** A stand-in collector on loopback that opens the session at once; `autoPong: false` is one whose network died. */
async function fakeCollector(autoPong: boolean): Promise<{ server: string; close(): void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong });
  await once(wss, 'listening');
  wss.on('connection', (ws) =>
    ws.send(JSON.stringify({ type: 'session.ready', sessionId: 'ss_1', runAs: 'nobody', readOnly: false })),
  );
  return {
    server: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    close: () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('ShellClient keep-alive', () => {
  it('ends the session with OUTPOST_E_UNAVAILABLE when the collector stops answering pings', async () => {
    const c = await fakeCollector(false);
    servers.push(c);
    const client = await ShellClient.open({ server: c.server, token: 't' }, 'ag_1', { keepAliveMs: 100 });
    const started = Date.now();
    const end = await client.ended;
    expect(end).toMatchObject({ exitCode: null, code: 'OUTPOST_E_UNAVAILABLE' });
    expect(end.message).toMatch(/stopped answering/);
    // More than two rounds of silence, found at the next round.
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stays open while the collector answers', async () => {
    const c = await fakeCollector(true);
    servers.push(c);
    const client = await ShellClient.open({ server: c.server, token: 't' }, 'ag_1', { keepAliveMs: 100 });
    const outcome = await Promise.race([
      client.ended.then(() => 'ended'),
      new Promise((r) => setTimeout(() => r('open'), 1000)),
    ]);
    expect(outcome).toBe('open');
    client.terminate();
  });
});
