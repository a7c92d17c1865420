import { connect, createServer, type Socket } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { capConnections, connectionCap, NON_SOCKET_FILES } from './connection-cap.js';

describe('listener connection cap', () => {
  it('leaves the non-socket descriptors out of the open-files limit; no cap when the limit is unknown', () => {
    expect(connectionCap(1024)).toBe(1024 - NON_SOCKET_FILES);
    expect(connectionCap(undefined)).toBeUndefined();
    expect(connectionCap(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(connectionCap(10)).toBe(1);
  });

  it('closes a connection past the cap at once and logs it with its code', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const server = createServer((s) => s.on('error', () => {}));
    capConnections(server, NON_SOCKET_FILES + 2, logger, 'api');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const open = (): Promise<Socket> =>
      new Promise((resolve) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', () => {});
      });
    const kept = [await open(), await open()];
    const third = await open();
    await new Promise((r) => third.once('close', r)); // dropped by the server, not by this side
    expect(kept.every((s) => !s.destroyed)).toBe(true);
    const logged = JSON.parse(lines.find((l) => l.includes('connection dropped'))!);
    expect(logged).toMatchObject({ code: 'OUTPOST_E_UNAVAILABLE', listener: 'api', maxConnections: 2 });
    for (const s of kept) s.destroy();
    await new Promise((r) => server.close(r));
  });
});
