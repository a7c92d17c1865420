/**
 * The web concern on a real fastify: the console's pages and assets with their cache policy, the security headers
 * on every answer, no app fallback under /api, a coded answer when the console was never built, and the OpenAPI
 * document generated from the routes of a real collector (buildApp on a temp dir).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import { errorHandler, notFoundHandler } from '../http/errors.js';
import type { App } from '../http/types.js';
import { CONTENT_SECURITY_POLICY, installWeb } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-web-'));
const root = join(dir, 'dist');
mkdirSync(join(root, 'assets'), { recursive: true });
writeFileSync(
  join(root, 'index.html'),
  '<!doctype html><div id="app"></div><script type="module" src="/assets/index-Ab12.js"></script>',
);
writeFileSync(join(root, 'assets', 'index-Ab12.js'), 'console.log(1)');
writeFileSync(join(dir, 'secret.txt'), 'not for you');

async function webApp(consoleRoot: string): Promise<App> {
  const app = Fastify() as unknown as App;
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  await installWeb(app, { version: 'test', consoleRoot });
  app.get('/api/v1/ping', async () => ({ ok: true }));
  await app.ready();
  return app;
}

let web: App;
let collector: Collector;
beforeAll(async () => {
  web = await webApp(root);
  const settings = checkSettings({ dataDir: join(dir, 'data'), tls: { enabled: false }, log: { level: 'silent' } });
  mkdirSync(join(dir, 'data'));
  collector = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await web?.close();
  await collector?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('console serving', () => {
  it('answers the app at / and at console paths, revalidated, with the security headers', async () => {
    for (const url of ['/', '/login', '/fleet?os=linux', '/machines/ag_1', '/incidents']) {
      const res = await web.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('<div id="app">');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/script-src[^;]*unsafe/);
  });

  it('serves hashed assets as immutable, and nothing outside assets/', async () => {
    const js = await web.inject({ url: '/assets/index-Ab12.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['x-content-type-options']).toBe('nosniff');
    for (const url of [
      '/assets/missing.js',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/../index.html',
      '/assets/.hidden',
    ]) {
      const res = await web.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('not for you');
    }
  });

  it('never answers the app for API paths or unknown paths', async () => {
    for (const url of ['/api/v1/nope', '/api', '/nope', '/fleet/extra/deep']) {
      const res = await web.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('OUTPOST_E_NOT_FOUND');
    }
    const api = await web.inject({ url: '/api/v1/ping' });
    expect(api.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  });

  it('says the console is not built instead of a bare 404', async () => {
    const bare = await webApp(join(dir, 'no-such-dist'));
    const res = await bare.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('OUTPOST_E_CONSOLE_NOT_BUILT');
    await bare.close();
  });
});

describe('OpenAPI', () => {
  it('describes the REST API from the route schemas at /api/docs, without authentication', async () => {
    const res = await collector.api.inject({ url: '/api/docs' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as {
      openapi: string;
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    const list = doc.paths['/api/v1/agents']?.get;
    expect(list?.parameters?.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(
      expect.arrayContaining(['status', 'os', 'sort', 'order', 'search', 'limit', 'offset']),
    );
    expect(doc.paths['/api/v1/incidents/{id}/ack']?.post).toBeDefined();
    expect(Object.keys(doc.paths).length).toBeGreaterThan(50);
    // Console pages and assets are not API.
    expect(doc.paths['/assets/*']).toBeUndefined();
    expect(doc.paths['/api/docs']).toBeUndefined();
  });
});
