/**
 * The agents bench's connection logic (scripts/bench/sim-connect.ts): simulators spread over loopback source
 * addresses that really work as such on this machine, the kernel tables read right, and a short phase named.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cpuSeconds, statTicks } from '../../scripts/bench/proc-cpu.js';
import {
  ConnectTally,
  ephemeralPorts,
  failureOfError,
  openFilesLimit,
  sourceAddress,
} from '../../scripts/bench/sim-connect.js';

describe('sourceAddress', () => {
  it('gives each simulator its own loopback address from 127.0.0.2, and refuses past 127.0.0.254', () => {
    expect([0, 1, 2].map(sourceAddress)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(sourceAddress(252)).toBe('127.0.0.254');
    expect(() => sourceAddress(253)).toThrow(/253: only 253 loopback source addresses/);
    expect(() => sourceAddress(-1)).toThrow(RangeError);
  });

  it.skipIf(process.platform !== 'linux')(
    'is the address the collector sees (every 127.0.0.0/8 address is local)',
    async () => {
      const server = createServer();
      const seen = new Promise<string | undefined>((resolve) =>
        server.once('connection', (s) => resolve(s.remoteAddress)),
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const client: Socket = tcpConnect({ host: '127.0.0.1', port, localAddress: sourceAddress(3) });
      try {
        expect(await seen).toBe('127.0.0.5');
      } finally {
        client.destroy();
        server.close();
      }
    },
  );
});

describe('kernel tables', () => {
  it('counts the ephemeral ports of a range, and refuses what is not one', () => {
    expect(ephemeralPorts('32768\t60999\n')).toBe(28_232);
    expect(() => ephemeralPorts('60999 32768')).toThrow(/not a port range/);
    expect(() => ephemeralPorts('')).toThrow(/not a port range/);
  });

  it('reads the open-files limits, unlimited included', () => {
    const text = [
      'Limit                     Soft Limit           Hard Limit           Units',
      'Max processes             95704                95704                processes',
      'Max open files            1024                 524288               files',
    ].join('\n');
    expect(openFilesLimit(text)).toEqual({ soft: 1024, hard: 524_288 });
    expect(openFilesLimit('Max open files            unlimited            unlimited            files').soft).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(() => openFilesLimit('Max processes 1 1')).toThrow(/Max open files/);
  });

  it.skipIf(process.platform !== 'linux')('reads this machine’s own tables', () => {
    expect(ephemeralPorts(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'))).toBeGreaterThan(1000);
    expect(openFilesLimit(readFileSync('/proc/self/limits', 'utf8')).soft).toBeGreaterThan(0);
  });
});

describe('ConnectTally', () => {
  it('says nothing is missing when every socket connected', () => {
    const t = new ConnectTally();
    t.connected = 4000;
    expect(t.shortfall(4000)).toBe('');
  });

  it('names what a short phase misses: how many connected, the failures by code, the last error, the untried', () => {
    const t = new ConnectTally();
    t.connected = 3912;
    for (let i = 0; i < 80; i++)
      t.fail(failureOfError(Object.assign(new Error('connect EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL' })));
    for (let i = 0; i < 6; i++) t.fail({ code: 'close 1013', detail: 'OUTPOST_E_UNAVAILABLE' });
    t.fail({ code: 'handshake-timeout', detail: 'no welcome within 60000 ms' });
    expect(t.failed).toBe(87);
    expect(t.shortfall(4000)).toBe(
      '3,912 of 4,000 connected; 87 failed (EADDRNOTAVAIL ×80, close 1013 ×6, handshake-timeout ×1), ' +
        'last handshake-timeout: no welcome within 60000 ms; 1 not tried before the phase deadline',
    );
  });

  it('codes an error without an errno by its kind', () => {
    expect(failureOfError(new Error('boom'))).toEqual({ code: 'error', detail: 'boom' });
  });
});

describe('statTicks', () => {
  it('adds user and system ticks, whatever the process name holds', () => {
    const line = '4242 (node (sim) x) S 1 4242 4242 0 -1 4194304 100 0 0 0 1500 250 0 0 20 0 11 0 9000 0 0';
    expect(statTicks(line)).toBe(1750);
    expect(() => statTicks('garbage')).toThrow(/stat line/);
  });

  it.skipIf(process.platform !== 'linux')('reads this process’s CPU time, which grows as it works', () => {
    const before = cpuSeconds(process.pid);
    const end = performance.now() + 300;
    while (performance.now() < end); // burns 300 ms of CPU so that the counter must move
    expect(cpuSeconds(process.pid)).toBeGreaterThan(before);
  });
});
