import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ShellClient } from './shell-client.js';

/** A stand-in collector on loopback that opens the session at once; `autoPong: false` is one whose network died. */
async function fakeCollector(
  autoPong: boolean,
  first: readonly string[] = [
    JSON.stringify({ type: 'session.ready', sessionId: 'ss_1', runAs: 'nobody', readOnly: false }),
  ],
): Promise<{ server: string; close(): void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    for (const text of first) ws.send(text);
  });
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

describe("ShellClient reads the collector's control messages against their schema", () => {
  it('ignores a type it does not know (a newer collector) and opens on session.ready', async () => {
    const c = await fakeCollector(true, [
      JSON.stringify({ type: 'session.notice', text: 'from a newer collector' }),
      JSON.stringify({ type: 'session.ready', sessionId: 'ss_2', runAs: 'alice', readOnly: false, extra: 1 }),
    ]);
    servers.push(c);
    const client = await ShellClient.open({ server: c.server, token: 't' }, 'ag_1');
    expect([client.sessionId, client.runAs]).toEqual(['ss_2', 'alice']);
    client.terminate();
  });

  it.each([
    ['a session.ready without its session id', JSON.stringify({ type: 'session.ready', runAs: 'x', readOnly: false })],
    ['an exit code that is text', JSON.stringify({ type: 'session.exit', exitCode: '0; rm -rf /', signal: 0 })],
    ['text that is not JSON', '{"type":"session.ready"'],
  ])('ends the session with OUTPOST_E_BAD_MESSAGE on %s, without throwing', async (_what, text) => {
    const c = await fakeCollector(true, [text]);
    servers.push(c);
    await expect(ShellClient.open({ server: c.server, token: 't' }, 'ag_1')).rejects.toMatchObject({
      code: 'OUTPOST_E_BAD_MESSAGE',
    });
  });
});
