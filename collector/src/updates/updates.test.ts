/**
 * Publishing signed releases to a real collector (buildApp on a temp dir, real SQLite, `inject`): what validates is
 * served (metadata and streamed targets), what does not is refused with OUTPOST_E_RELEASE_INVALID and changes
 * nothing; agents' update statuses are stored once and audited.
 */
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { initReleaseKeys, releasePaths, releaseTargetPath, signRelease } from '@outpost/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';

let app: Collector;
let dir: string;
let token: string;
let keys: string;

function packages(version: string): string {
  const d = mkdtempSync(join(dir, 'pkg-'));
  for (const p of ['linux-x64', 'linux-arm64']) {
    writeFileSync(join(d, `outpost-agent-${p}`), `#!/bin/sh\necho ${version} ${p}\n`);
    chmodSync(join(d, `outpost-agent-${p}`), 0o755);
  }
  return d;
}

function* files(d: string): Generator<string> {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) yield* files(p);
    else yield p;
  }
}

const auth = () => ({ authorization: `Bearer ${token}` });

/** Uploads a repository directory the way `outpost releases publish` does, and commits it. */
async function publish(repo: string, mutate?: (rel: string, bytes: Buffer) => Buffer) {
  const open = await app.api.inject({ method: 'POST', url: '/api/v1/releases/uploads', headers: auth(), payload: {} });
  expect(open.statusCode).toBe(201);
  const { id } = open.json() as { id: string };
  for (const kind of ['metadata', 'targets'] as const) {
    for (const f of files(join(repo, kind))) {
      const rel = relative(join(repo, kind), f);
      const bytes = mutate ? mutate(`${kind}/${rel}`, readFileSync(f)) : readFileSync(f);
      const put = await app.api.inject({
        method: 'PUT',
        url: `/api/v1/releases/uploads/${id}/${kind}/${rel}`,
        headers: { ...auth(), 'content-type': 'application/octet-stream' },
        payload: bytes,
      });
      expect(put.statusCode, put.body).toBe(200);
    }
  }
  return app.api.inject({ method: 'POST', url: `/api/v1/releases/uploads/${id}/commit`, headers: auth(), payload: {} });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-updates-'));
  const settings = checkSettings({ dataDir: join(dir, 'data'), tls: { enabled: false }, log: { level: 'silent' } });
  app = await buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
  const login = await app.api.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: app.initialAdmin!.email, password: app.initialAdmin!.password },
  });
  token = (login.json() as { token: string }).token;
  keys = join(dir, 'keys');
  initReleaseKeys(keys);
});
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('publishing releases', () => {
  it('refuses anonymous uploads', async () => {
    const res = await app.api.inject({ method: 'POST', url: '/api/v1/releases/uploads', payload: {} });
    expect(res.statusCode).toBe(401);
  });

  it('publishes a signed repository, lists it, and serves metadata and executables to agents', async () => {
    signRelease({ keysDir: keys, packagesDir: packages('0.2.0'), version: '0.2.0' });
    const res = await publish(releasePaths(keys).repo);
    expect(res.statusCode, res.body).toBe(200);
    const list = await app.api.inject({ method: 'GET', url: '/api/v1/releases', headers: auth() });
    const state = list.json() as { releases: { version: string; platform: string }[]; roles: { role: string }[] };
    expect(state.releases.map((r) => `${r.version} ${r.platform}`)).toEqual(['0.2.0 linux-arm64', '0.2.0 linux-x64']);
    expect(state.roles.map((r) => r.role)).toEqual(['root', 'targets', 'snapshot', 'timestamp']);

    const ts = await app.agentEndpoint.inject({ method: 'GET', url: '/v1/updates/metadata/timestamp.json' });
    expect(ts.statusCode).toBe(200);
    expect(ts.body).toBe(readFileSync(join(releasePaths(keys).metadata, 'timestamp.json'), 'utf8'));
    const path = releaseTargetPath('linux-x64', '0.2.0');
    const exe = await app.agentEndpoint.inject({ method: 'GET', url: `/v1/updates/targets/${path}` });
    expect(exe.statusCode).toBe(200);
    expect(exe.headers['content-length']).toBe(String(statSync(join(releasePaths(keys).targets, path)).size));
    expect(exe.body).toContain('echo 0.2.0 linux-x64');
    for (const bad of ['../../outpost.db', 'outpost-agent/%2e%2e/%2e%2e/x', '.hidden']) {
      expect((await app.agentEndpoint.inject({ method: 'GET', url: `/v1/updates/targets/${bad}` })).statusCode).toBe(
        404,
      );
    }
    expect(
      (await app.agentEndpoint.inject({ method: 'GET', url: '/v1/updates/metadata/..%2Foutpost.db' })).statusCode,
    ).toBe(404);
    const audit = await app.audit.list({ type: 'release.publish', limit: 5 });
    expect(audit[0]).toMatchObject({ result: 'success', code: 'OUTPOST_I_RELEASE_PUBLISHED' });
  });

  it('refuses a repository signed by keys its trusted root does not list, changing nothing', async () => {
    const other = join(dir, 'other-keys');
    initReleaseKeys(other);
    signRelease({ keysDir: other, packagesDir: packages('0.9.0'), version: '0.9.0' });
    const res = await publish(releasePaths(other).repo);
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('OUTPOST_E_RELEASE_INVALID');
    const state = (await app.api.inject({ method: 'GET', url: '/api/v1/releases', headers: auth() })).json() as {
      releases: { version: string }[];
    };
    expect(state.releases.every((r) => r.version === '0.2.0')).toBe(true);
    const audit = await app.audit.list({ type: 'release.publish', limit: 1 });
    expect(audit[0]).toMatchObject({ result: 'failure', code: 'OUTPOST_E_RELEASE_INVALID' });
  });

  it('refuses executables that differ from their signed hash, and metadata older than what it serves', async () => {
    const old = join(dir, 'old-repo');
    cpSync(releasePaths(keys).repo, old, { recursive: true });
    signRelease({ keysDir: keys, packagesDir: packages('0.3.0'), version: '0.3.0' });
    const tampered = await publish(releasePaths(keys).repo, (rel, bytes) =>
      rel.includes('0.3.0') && rel.endsWith('linux-x64/0.3.0/outpost-agent') ? Buffer.from(`${bytes}#evil\n`) : bytes,
    );
    expect(tampered.statusCode).toBe(422);
    expect(tampered.json().error.message).toMatch(/does not match its signed length and hash/);
    expect((await publish(releasePaths(keys).repo)).statusCode).toBe(200);
    const rollback = await publish(old);
    expect(rollback.statusCode).toBe(422);
    expect(rollback.json().error.message).toMatch(/BadVersionError|version/i);
  });

  it('refuses upload paths outside the repository', async () => {
    const { id } = (
      await app.api.inject({ method: 'POST', url: '/api/v1/releases/uploads', headers: auth(), payload: {} })
    ).json() as { id: string };
    for (const url of [`targets/..%2F..%2Fx`, 'metadata/evil.json', 'targets/a/.b']) {
      const res = await app.api.inject({
        method: 'PUT',
        url: `/api/v1/releases/uploads/${id}/${url}`,
        headers: { ...auth(), 'content-type': 'application/octet-stream' },
        payload: Buffer.from('x'),
      });
      expect(res.statusCode, url).toBe(400);
    }
  });
});

describe('agent update statuses', () => {
  it('are stored once per (agent, seq) and audited, refusals as failures with their code', async () => {
    const msg = {
      type: 'update.status' as const,
      seq: 7,
      time: Date.now(),
      phase: 'refused' as const,
      from: '0.1.0',
      to: '0.2.0',
      code: 'OUTPOST_E_UPDATE_TAMPERED',
      reason: 'bytes differ',
    };
    await app.updates.ingest([{ agentId: 'ag_000000000000000000000001', msg }], Date.now());
    await app.updates.ingest([{ agentId: 'ag_000000000000000000000001', msg }], Date.now());
    expect(await app.updates.statuses('ag_000000000000000000000001')).toHaveLength(1);
    const audit = await app.audit.list({ type: 'agent.update.refused', limit: 5 });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      result: 'failure',
      code: 'OUTPOST_E_UPDATE_TAMPERED',
      agentId: 'ag_000000000000000000000001',
    });
  });

  it('assigning to an unknown agent answers as an unknown id does', async () => {
    const res = await app.api.inject({
      method: 'POST',
      url: '/api/v1/agents/ag_ffffffffffffffffffffffff/update',
      headers: auth(),
      payload: { version: '0.2.0' },
    });
    expect(res.statusCode).toBe(404);
  });
});
