/**
 * The CLI's route table against the routes a real collector registers (buildApp on a temp dir, real SQLite): every
 * route the CLI calls exists with that method and path, declares a response schema, and answers through the very
 * schema object the table names — so the CLI's types and checks cannot drift from what the route sends. And the
 * CLI's commands reach the API only through the table (no hand-typed `apiCall<…>` left).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector, type RegisteredRoute } from '../app.js';
import { checkSettings } from '../config.js';
import { API_ROUTES, type ApiRoute, type RouteSpec } from './routes.js';

let app: Collector;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-routetable-'));
  const settings = checkSettings({ dataDir: dir, api: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' } });
  app = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const routes = () => Object.entries(API_ROUTES) as [ApiRoute, RouteSpec][];
const registered = (key: ApiRoute): RegisteredRoute | undefined => {
  const [method, url] = key.split(' ') as [string, string];
  return app.routes.find((r) => r.method === method && r.url === url);
};
/** The success answer's schema a route declared (200, 201 or 202). */
const successSchema = (r: RegisteredRoute): unknown => {
  const res = r.schema.response ?? {};
  return res['200'] ?? res['201'] ?? res['202'];
};

describe('the CLI route table', () => {
  it('names only routes the collector registers, method and path alike', () => {
    expect(routes().length).toBeGreaterThan(80);
    const missing = routes()
      .map(([key]) => key)
      .filter((key) => !registered(key));
    expect(missing).toEqual([]);
  });

  it('gives every JSON route the very response schema the route answers through', () => {
    const drift: string[] = [];
    for (const [key, spec] of routes()) {
      if (!('response' in spec)) continue;
      const server = successSchema(registered(key)!);
      if (server === undefined) {
        drift.push(`${key}: the route declares no response schema`);
        continue;
      }
      // A route with a text form (format=csv|html) answers a union; the table names its JSON member.
      const members = (server as { anyOf?: unknown[] }).anyOf ?? [server];
      if (!members.includes(spec.response)) drift.push(`${key}: the table's schema is not the route's`);
    }
    expect(drift).toEqual([]);
  });

  it('is what the CLI calls: no command reaches the API around it', () => {
    const cliDir = fileURLToPath(new URL('../cli/', import.meta.url));
    const offenders = readdirSync(cliDir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'client.ts' && f !== 'api.ts')
      .filter((f) => /\bapiCall\s*[<(]/.test(readFileSync(join(cliDir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
