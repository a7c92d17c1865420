import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { heardNow, keepAliveRound } from './keepalive.js';

// Rounds 200 ms apart: at 50 ms a pong queued behind a 100 ms stall of a loaded machine read as a dead peer.
const EVERY = 200;
const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A loopback pair: `server` is the pinging end, `client` the peer (answering pings by itself unless told not to). */
async function pair(autoPong: boolean): Promise<{ server: WebSocket; client: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { autoPong });
  await once(client, 'open');
  const [server] = await accepted;
  closers.push(() => {
    client.terminate();
    wss.close();
  });
  return { server, client };
}

/** Runs `n` rounds `EVERY` ms apart; returns how long after the first round the socket was found dead, or -1. */
async function rounds(ws: WebSocket, n: number, each?: () => void): Promise<number> {
  const started = performance.now();
  let deadAfter = -1;
  for (let i = 1; i <= n && deadAfter < 0; i++) {
    each?.();
    keepAliveRound([ws], EVERY, () => {
      deadAfter = performance.now() - started;
    });
    await new Promise((r) => setTimeout(r, EVERY));
  }
  return deadAfter;
}

describe('keep-alive rounds', () => {
  it('a peer that answers pings stays alive', async () => {
    const { server } = await pair(true);
    expect(await rounds(server, 8)).toBe(-1);
  });

  it('a silent peer is dead after more than two rounds, not before', async () => {
    const { server } = await pair(false);
    const deadAfter = await rounds(server, 12);
    expect(deadAfter).toBeGreaterThan(2 * EVERY);
  });

  it('any frame counts as a sign of life, pong or not', async () => {
    const { server, client } = await pair(false);
    expect(await rounds(server, 8, () => client.send('still here'))).toBe(-1);
  });

  it('a socket first marked heard (a watcher paused on purpose) is still followed afterwards', async () => {
    const { server } = await pair(true);
    heardNow(server);
    expect(await rounds(server, 8)).toBe(-1);
  });
});
