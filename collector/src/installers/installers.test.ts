/**
 * /install/ on a real collector (buildApp on a temp dir, real SQLite, `inject`) with a real installers directory:
 * only names the manifest lists are served, with their SHA-256; a file changed after the manifest is refused; a
 * symlink or a path is never followed; the download budget answers 429 with Retry-After; no manifest answers 404.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import { DownloadThrottle } from './throttle.js';

let app: Collector;
let dir: string;
let packages: string;
const body = Buffer.from('#!/bin/sh\necho fake agent\n');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const secret = Buffer.from('not listed: must never be served');

function writeManifest(files: { file: string; platform: string; sha256: string; size: number }[]): void {
  writeFileSync(join(packages, 'manifest.json'), JSON.stringify({ agentVersion: '0.1.0', files }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-installers-'));
  packages = join(dir, 'packages');
  mkdirSync(packages);
  writeFileSync(join(packages, 'outpost-agent-linux-x64'), body);
  writeFileSync(join(packages, 'unlisted.bin'), secret);
  writeFileSync(join(dir, 'outside.txt'), secret);
  symlinkSync(join(dir, 'outside.txt'), join(packages, 'link-agent'));
  writeManifest([
    { file: 'outpost-agent-linux-x64', platform: 'linux-x64', sha256: sha(body), size: body.length },
    { file: 'link-agent', platform: 'linux-x64', sha256: sha(secret), size: secret.length },
  ]);
  const settings = checkSettings({
    dataDir: join(dir, 'data'),
    tls: { enabled: false },
    log: { level: 'silent' },
    installers: { dir: packages, downloadsPerMinute: 1000 },
  });
  app = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string) => app.api.inject({ method: 'GET', url });

describe('/install/', () => {
  it('serves the manifest and a listed file with its SHA-256, without authentication', async () => {
    const m = await get('/install/manifest.json');
    expect(m.statusCode).toBe(200);
    expect((m.json() as { files: { file: string }[] }).files.map((f) => f.file)).toContain('outpost-agent-linux-x64');
    const f = await get('/install/outpost-agent-linux-x64');
    expect(f.statusCode).toBe(200);
    expect(f.rawPayload.equals(body)).toBe(true);
    expect(f.headers['x-outpost-sha256']).toBe(sha(body));
    expect(f.headers['content-type']).toBe('application/octet-stream');
  });

  it('never serves a name the manifest does not list, a path, or through a symlink', async () => {
    for (const url of [
      '/install/unlisted.bin',
      '/install/..%2Foutside.txt',
      '/install/../outside.txt',
      '/install/%2e%2e',
      '/install/.manifest.json',
    ]) {
      const r = await get(url);
      // `/install/%2e%2e` is `/` once the router has decoded and resolved it: the console's page, nothing else.
      if (r.statusCode === 200) expect(r.payload.startsWith('<!doctype html>'), url).toBe(true);
      else expect([400, 404], url).toContain(r.statusCode);
      expect(r.rawPayload.includes(secret), url).toBe(false);
    }
    const link = await get('/install/link-agent');
    expect(link.statusCode).toBe(500);
    expect((link.json() as { error: { code: string } }).error.code).toBe('OUTPOST_E_INSTALLER_INTEGRITY');
    expect(link.rawPayload.includes(secret)).toBe(false);
  });

  it('refuses a file changed after its manifest was written', async () => {
    const tampered = Buffer.from('#!/bin/sh\necho evil agent\n');
    expect(tampered.length).toBe(body.length);
    writeFileSync(join(packages, 'outpost-agent-linux-x64'), tampered);
    const r = await get('/install/outpost-agent-linux-x64');
    expect(r.statusCode).toBe(500);
    expect((r.json() as { error: { code: string } }).error.code).toBe('OUTPOST_E_INSTALLER_INTEGRITY');
    writeFileSync(join(packages, 'outpost-agent-linux-x64'), body);
    expect((await get('/install/outpost-agent-linux-x64')).statusCode).toBe(200);
  });

  it('answers 404 with a coded error while there is no manifest, or a malformed one', async () => {
    writeFileSync(join(packages, 'manifest.json'), '{"files":[{"file":"../x","platform":"p","sha256":"0","size":1}]}');
    const bad = await get('/install/manifest.json');
    expect(bad.statusCode).toBe(404);
    expect((bad.json() as { error: { code: string } }).error.code).toBe('OUTPOST_E_INSTALLER_UNAVAILABLE');
    rmSync(join(packages, 'manifest.json'));
    expect((await get('/install/outpost-agent-linux-x64')).statusCode).toBe(404);
    writeManifest([{ file: 'outpost-agent-linux-x64', platform: 'linux-x64', sha256: sha(body), size: body.length }]);
    expect((await get('/install/outpost-agent-linux-x64')).statusCode).toBe(200);
  });
});

describe('download budget', () => {
  it('allows the budget per source per minute, then refuses with a wait, and refills', () => {
    let now = 0;
    const t = new DownloadThrottle(3, () => now);
    expect([t.take('a'), t.take('a'), t.take('a')]).toEqual([0, 0, 0]);
    expect(t.take('a')).toBeGreaterThan(0);
    expect(t.take('b')).toBe(0);
    now += 20_000;
    expect(t.take('a')).toBe(0);
    expect(t.take('a')).toBeGreaterThan(0);
  });

  it('keeps its memory bounded', () => {
    const t = new DownloadThrottle(1, () => 0, 100);
    for (let i = 0; i < 1000; i++) t.take(`10.0.${i >> 8}.${i & 255}`);
    expect(t.take('10.0.3.231')).toBeGreaterThan(0);
  });

  it('answers 429 with Retry-After over HTTP', async () => {
    const d2 = mkdtempSync(join(tmpdir(), 'outpost-installers-429-'));
    const settings = checkSettings({
      dataDir: d2,
      tls: { enabled: false },
      log: { level: 'silent' },
      installers: { dir: packages, downloadsPerMinute: 2 },
    });
    const a2 = await buildApp({ ...settings, clock: { now: () => 0 }, logger: pino({ level: 'silent' }) });
    try {
      expect((await a2.api.inject({ method: 'GET', url: '/install/manifest.json' })).statusCode).toBe(200);
      expect((await a2.api.inject({ method: 'GET', url: '/install/outpost-agent-linux-x64' })).statusCode).toBe(200);
      const r = await a2.api.inject({ method: 'GET', url: '/install/outpost-agent-linux-x64' });
      expect(r.statusCode).toBe(429);
      expect((r.json() as { error: { code: string } }).error.code).toBe('OUTPOST_E_INSTALLER_THROTTLED');
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await a2.close();
      rmSync(d2, { recursive: true, force: true });
    }
  });
});
