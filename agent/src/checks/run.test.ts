/** Checks against real sockets, servers, processes and the resolver on loopback. */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { CheckSpec } from '@outpost/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { runCheck } from './run.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});
const listen = async <S extends Server>(s: S): Promise<number> => {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
};
const common = { intervalSec: 60, timeoutMs: 2000 };

describe('runCheck', () => {
  it('tcp: an open port passes with its connect time, a closed one fails with the reason', async () => {
    const port = await listen(createServer((c) => c.end()));
    const ok = await runCheck({ ...common, id: 't1', kind: 'tcp', host: '127.0.0.1', port });
    expect(ok).toMatchObject({ checkId: 't1', ok: true });
    expect(ok.value).toBeGreaterThanOrEqual(0);
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
    const closed = await runCheck({ ...common, id: 't1', kind: 'tcp', host: '127.0.0.1', port });
    expect(closed.ok).toBe(false);
    expect(closed.message).toContain('ECONNREFUSED');
  });

  it('http: status against the expectation, latency as value', async () => {
    const port = await listen(
      createHttpServer((req, res) => {
        res.statusCode = req.url === '/down' ? 503 : 200;
        res.end('x');
      }),
    );
    const up = await runCheck({ ...common, id: 'h', kind: 'http', url: `http://127.0.0.1:${port}/` });
    expect(up.ok).toBe(true);
    expect(up.message).toMatch(/^HTTP 200 in \d+ ms/);
    const down = await runCheck({ ...common, id: 'h', kind: 'http', url: `http://127.0.0.1:${port}/down` });
    expect(down).toMatchObject({ ok: false });
    expect(down.message).toContain('HTTP 503');
    const expected = await runCheck({
      ...common,
      id: 'h',
      kind: 'http',
      url: `http://127.0.0.1:${port}/down`,
      expectStatus: 503,
    });
    expect(expected.ok).toBe(true);
  });

  it('process: this very process is found by name, an absent one is not', async () => {
    const me = readFileSync('/proc/self/comm', 'utf8').trim();
    const found = await runCheck({ ...common, id: 'p', kind: 'process', name: me });
    expect(found.ok).toBe(true);
    expect(found.value).toBeGreaterThanOrEqual(1);
    const absent = await runCheck({ ...common, id: 'p', kind: 'process', name: 'no-such-proc-4242' });
    expect(absent).toMatchObject({ ok: false, message: 'no process named no-such-proc-4242 is running' });
  });

  it('dns: localhost resolves, a reserved .invalid name does not', async () => {
    const ok = await runCheck({ ...common, id: 'd', kind: 'dns', name: 'localhost' });
    expect(ok.ok).toBe(true);
    expect(ok.message).toMatch(/127\.0\.0\.1|::1/);
    const bad = await runCheck({ ...common, id: 'd', kind: 'dns', name: 'nothing.invalid' });
    expect(bad.ok).toBe(false);
    expect(bad.message).toContain('does not resolve');
  });

  it('service and ping say why when they cannot tell, and never throw', async () => {
    const specs: CheckSpec[] = [
      { ...common, id: 's', kind: 'service', name: 'no-such-service-4242' },
      { ...common, id: 'g', kind: 'ping', host: '-c 9' },
    ];
    const [svc, ping] = await Promise.all(specs.map((s) => runCheck(s)));
    expect(svc!.ok).toBe(false);
    expect(svc!.message).toMatch(/no-such-service-4242 is (inactive|unknown)|cannot tell/);
    expect(ping).toMatchObject({ ok: false, message: 'invalid host' });
  });
});
