/**
 * Two collector nodes that share no data directory (docs/0017-nodes.md, "One data directory per node"): two built
 * `outpost serve` processes, each on its own `--data-dir`, one fresh PostgreSQL database and one nats-server, as on
 * two hosts. What they must share comes from the database: the TLS identity (an agent enrolled through A reconnects to
 * B under the fingerprint it pinned), the session-ticket key (a shell ticket signed on A is accepted by the agent on
 * B), the release repository (published through A, downloaded from B with the same SHA-256) and finished recordings
 * (a shell recorded on A played back from B). Needs PostgreSQL and nats-server; skipped, saying why, without either.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { initReleaseKeys, releasePaths, releaseTargetPath, signRelease } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../support/agent.js';
import { connectedOn, startClusterNode } from '../support/cluster.js';
import { outpostBin, spawnNode, tempDir } from '../support/collector.js';
import { type NatsServer, natsUnavailable, startNats } from '../support/nats.js';
import { freshPostgres, postgresUnavailable, stopPostgresAfterAll } from '../support/postgres.js';
import { bootstrap, type ServeInfo } from '../support/process-collector.js';
import { openShell, type ShellAgent, startShellAgent } from '../support/shell.js';

stopPostgresAfterAll();
const skip = natsUnavailable() ?? postgresUnavailable;
if (skip) console.warn(`skipping the separate-data-directories test: ${skip}`);

const dir = tempDir('nodes-separate');
const dataOf = (name: string) => join(dir.path, `data-${name}`);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let nats: NatsServer;
let storageUrl: string;
let a: ServeInfo;
let b: ServeInfo;
let adminA: ApiTarget;
let adminB: ApiTarget;
let siteId: string;
let agent: ShellAgent;

/** Starts one node on its own data directory. */
const node = (name: string): Promise<ServeInfo> =>
  startClusterNode({
    dir: dir.path,
    dataDir: dataOf(name),
    name,
    natsUrl: nats.url,
    deployment: 'separate',
    config: { storage: { url: storageUrl } },
  });

/** GET over TLS: the body's bytes and the fingerprint of the certificate the node presented. */
function fetchBytes(base: string, path: string): Promise<{ status: number; body: Buffer; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { rejectUnauthorized: false, agent: false }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), fingerprint }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  if (skip) return;
  storageUrl = await freshPostgres();
  nats = await startNats();
  a = await node('node-a');
  b = await node('node-b');
  const boot = await bootstrap(a);
  adminA = boot.admin;
  adminB = { ...boot.admin, server: b.apiUrl, caFingerprint: b.fingerprint };
  siteId = boot.siteId;
}, 300_000);

afterAll(async () => {
  await agent?.proc.kill('SIGTERM');
  await a?.proc.kill('SIGTERM');
  await b?.proc.kill('SIGTERM');
  await nats?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe.skipIf(skip)('two collector nodes, one data directory each', () => {
  it('present the same TLS identity, kept in the database, not in either directory', () => {
    expect(b.fingerprint).toBe(a.fingerprint);
    for (const n of ['node-a', 'node-b']) {
      expect(existsSync(join(dataOf(n), 'tls'))).toBe(false);
      expect(existsSync(join(dataOf(n), 'session-ticket.key'))).toBe(false);
    }
  });

  it('lets an agent enrolled through node A reconnect to node B under the fingerprint it pinned', async () => {
    const enrollOnA = async () => {
      const t = await apiCall<{ token: string; info: { id: string } }>(adminA, 'POST', '/api/v1/enrollment-tokens', {
        siteId,
        maxUses: 1,
      });
      return { token: t.token, id: t.info.id };
    };
    agent = await startShellAgent(
      {
        agentUrl: a.apiUrl.replace(/^http/, 'ws'),
        fingerprint: a.fingerprint,
        admin: adminA,
        enrollmentToken: enrollOnA,
      },
      join(dir.path, 'agent'),
    );
    await expect.poll(() => connectedOn(adminA), { timeout: 10_000 }).toBe(1);
    await agent.proc.kill('SIGTERM');
    // The same installation, its server now node B; the pinned fingerprint is left as enrollment wrote it.
    const config = JSON.parse(readFileSync(agent.install.configFile, 'utf8')) as Record<string, unknown>;
    expect(config.caFingerprint).toBeTruthy();
    writeFileSync(agent.install.configFile, JSON.stringify({ ...config, server: b.apiUrl.replace(/^http/, 'ws') }));
    agent = { ...agent, proc: runAgent(agent.install) };
    await expect.poll(() => connectedOn(adminB), { timeout: 20_000, interval: 100 }).toBe(1);
    expect(await connectedOn(adminA)).toBe(0);
  });

  it('opens a shell through node A (ticket signed on A) to the agent on B, and plays its recording from B', async () => {
    const { s, out } = await openShell(adminA, agent.agentId);
    s.write('echo separate-$((6*7))\n');
    await out.waitFor(/separate-42\r?\n/);
    s.write('exit 0\n');
    expect((await s.ended).exitCode).toBe(0);
    type Row = { recordingStatus: string };
    await expect
      .poll(() => apiCall<Row>(adminB, 'GET', `/api/v1/sessions/${s.sessionId}`), { timeout: 10_000 })
      .toMatchObject({ recordingStatus: 'ok' });
    const file = join('recordings', `${s.sessionId}.cast.gz`);
    expect(existsSync(join(dataOf('node-a'), file))).toBe(true);
    expect(existsSync(join(dataOf('node-b'), file))).toBe(false);
    const cast = await apiCall<string>(adminB, 'GET', `/api/v1/sessions/${s.sessionId}/recording`);
    expect(cast.split('\n')[0]).toContain('"version":2');
    expect(cast.split('\n').some((l) => l.includes('separate-42'))).toBe(true);
    expect(cast).toBe(await apiCall<string>(adminA, 'GET', `/api/v1/sessions/${s.sessionId}/recording`));
  });

  it('serves from node B, with the same SHA-256, a release published through node A', async () => {
    const keys = join(dir.path, 'release-keys');
    const packages = join(dir.path, 'packages');
    mkdirSync(packages, { recursive: true });
    // Larger than one stored chunk (1 MiB), so the copy crosses chunk boundaries.
    const exe = Buffer.concat([Buffer.from('#!/bin/sh\necho 0.9.0\nexit 0\n'), randomBytes(3 * 1024 * 1024 + 123)]);
    writeFileSync(join(packages, 'outpost-agent-linux-x64'), exe);
    chmodSync(join(packages, 'outpost-agent-linux-x64'), 0o755);
    initReleaseKeys(keys);
    signRelease({ keysDir: keys, packagesDir: packages, version: '0.9.0' });
    const cli = spawnNode(outpostBin, [
      ...['--server', a.apiUrl, '--token', adminA.token!, '--ca-fingerprint', a.fingerprint],
      ...['releases', 'publish', keys],
    ]);
    expect(await cli.exited, cli.stderr()).toBe(0);
    const onB = await apiCall<{ releases: { version: string; sha256: string }[] }>(adminB, 'GET', '/api/v1/releases');
    expect(onB.releases).toEqual([expect.objectContaining({ version: '0.9.0', sha256: sha(exe) })]);
    const target = await fetchBytes(b.apiUrl, `/v1/updates/targets/${releaseTargetPath('linux-x64', '0.9.0')}`);
    expect(target.status).toBe(200);
    expect(target.fingerprint).toBe(a.fingerprint);
    expect(sha(target.body)).toBe(sha(exe));
    const ts = await fetchBytes(b.apiUrl, '/v1/updates/metadata/timestamp.json');
    expect(ts.body.equals(readFileSync(join(releasePaths(keys).metadata, 'timestamp.json')))).toBe(true);
  });
});
