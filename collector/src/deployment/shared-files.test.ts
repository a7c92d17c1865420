/**
 * Two nodes with their own data directories sharing one database (SQLite and PostgreSQL): the release repository
 * published through one is synced byte for byte into the other's directory and a later publish removes what it no
 * longer lists; a finished recording stored by one is read by the other; the TLS identity and the ticket key are the
 * same on both, the first node's existing files being the ones kept (an upgrade keeps the pinned fingerprint).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { ensureCertificate } from '../tls/index.js';
import { sharedCertificate, sharedTicketKey } from './identity.js';
import { ReleaseMirror, SharedRecordings } from './shared-files.js';
import { CHUNK_BYTES, DeploymentStore, deploymentMigrations } from './store.js';

const logger = pino({ level: 'silent' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let root: string;
let dirA: string;
let dirB: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'outpost-shared-'));
  dirA = join(root, 'a');
  dirB = join(root, 'b');
  mkdirSync(dirA);
  mkdirSync(dirB);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function put(base: string, rel: string, bytes: Buffer | string): void {
  mkdirSync(dirname(join(base, rel)), { recursive: true });
  writeFileSync(join(base, rel), bytes);
}

describeStores('shared files and identity', deploymentMigrations, (db) => {
  it('syncs a release published through node A into node B, then removes what a later publish dropped', async () => {
    const store = new DeploymentStore(db());
    const a = new ReleaseMirror(store, join(dirA, 'releases'), logger);
    const b = new ReleaseMirror(store, join(dirB, 'releases'), logger);
    const agent = randomBytes(CHUNK_BYTES + 777);
    await a.publish(async () => {
      put(join(dirA, 'releases'), 'trusted-root.json', '{"root":1}');
      put(join(dirA, 'releases'), 'live/metadata/timestamp.json', '{"v":1}');
      put(join(dirA, 'releases'), 'live/targets/0.2.0/linux-x64/outpost-agent', agent);
      put(join(dirA, 'releases'), 'live/targets/0.1.0/linux-x64/outpost-agent', 'old');
    });
    await Promise.all([b.sync(), b.sync()]);
    const onB = (rel: string) => join(dirB, 'releases', rel);
    expect(sha(readFileSync(onB('live/targets/0.2.0/linux-x64/outpost-agent')))).toBe(sha(agent));
    expect(readFileSync(onB('trusted-root.json'), 'utf8')).toBe('{"root":1}');
    await a.publish(async () => {
      rmSync(join(dirA, 'releases/live/targets/0.1.0'), { recursive: true });
      put(join(dirA, 'releases'), 'live/metadata/timestamp.json', '{"v":2}');
    });
    await b.sync();
    expect(existsSync(onB('live/targets/0.1.0/linux-x64/outpost-agent'))).toBe(false);
    expect(readFileSync(onB('live/metadata/timestamp.json'), 'utf8')).toBe('{"v":2}');
    expect(sha(readFileSync(onB('live/targets/0.2.0/linux-x64/outpost-agent')))).toBe(sha(agent));
  });

  it('adopts the repository a node published before any was stored (a single node growing into several)', async () => {
    const store = new DeploymentStore(db());
    put(join(dirA, 'releases'), 'trusted-root.json', '{"root":1}');
    put(join(dirA, 'releases'), 'live/metadata/timestamp.json', '{"v":7}');
    const b = new ReleaseMirror(store, join(dirB, 'releases'), logger);
    await b.sync();
    expect(existsSync(join(dirB, 'releases', 'live/metadata/timestamp.json'))).toBe(false);
    await new ReleaseMirror(store, join(dirA, 'releases'), logger).sync();
    await b.sync();
    expect(readFileSync(join(dirB, 'releases', 'live/metadata/timestamp.json'), 'utf8')).toBe('{"v":7}');
    expect(readFileSync(join(dirA, 'releases', 'live/metadata/timestamp.json'), 'utf8')).toBe('{"v":7}');
  });

  it('reads on node B a recording node A stored', async () => {
    const store = new DeploymentStore(db());
    const cast = randomBytes(50_000);
    put(dirA, 'recordings/s1.cast.gz', cast);
    await new SharedRecordings(store, dirA).put('recordings/s1.cast.gz');
    const stream = await new SharedRecordings(store, dirB).read('recordings/s1.cast.gz');
    const parts: Buffer[] = [];
    for await (const c of stream ?? []) parts.push(c as Buffer);
    expect(sha(Buffer.concat(parts))).toBe(sha(cast));
    expect(await new SharedRecordings(store, dirB).read('recordings/none.cast.gz')).toBeUndefined();
  });

  it('gives both nodes node A’s existing certificate and ticket key, writing nothing into B’s directory', async () => {
    const store = new DeploymentStore(db());
    const before = await ensureCertificate({ dataDir: dirA, logger });
    const idA = await sharedCertificate({ store, node: 'a', dataDir: dirA, hostnames: [], logger });
    const idB = await sharedCertificate({ store, node: 'b', dataDir: dirB, hostnames: [], logger });
    expect(idA.fingerprint).toBe(before.fingerprint);
    expect(idB).toMatchObject({ fingerprint: before.fingerprint, cert: before.cert, key: before.key });
    const keyA = await sharedTicketKey({ store, node: 'a', dataDir: dirA, logger });
    const keyB = await sharedTicketKey({ store, node: 'b', dataDir: dirB, logger });
    expect(keyB.publicKey).toBe(keyA.publicKey);
    expect(existsSync(join(dirB, 'tls'))).toBe(false);
    expect(existsSync(join(dirB, 'session-ticket.key'))).toBe(false);
  });
});
