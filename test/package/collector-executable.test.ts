/**
 * The packaged collector (`pnpm package:collector`, linux-x64) run for real where no Node exists: copied into an
 * empty directory (no node_modules above it), started with a PATH that holds nothing and, where a mount namespace can
 * be made (root), every `node` binary on the machine hidden. It prints its version, serves on a free loopback port
 * with a temp data directory, answers the API (health, the first admin's login), creates its SQLite database through
 * the better-sqlite3 addon it carries inside, and replaces a tampered cached addon before loading it.
 *
 * Needs `pnpm build` first. The Node runtime comes from the npm registry and better-sqlite3 is compiled against its
 * headers once (cached under ~/.cache/outpost); the test is skipped, saying why, only when they cannot be had.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, prepared } from '../../collector/src/db/database.js';
import { type Proc, repoRoot, spawnProcess, tempDir } from '../support/collector.js';
import { packageCollector } from '../support/package-build.js';

const dir = tempDir('collector-exe');
const host = join(dir.path, 'host');
const exe = join(host, 'outpost');
const dataDir = join(host, 'data');
const nativeCache = join(host, 'cache', 'native');
let skipReason: string | undefined;
let server: Proc | undefined;

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Hides every node binary and global node_modules in a private mount namespace (root only), or null. */
const hideNode =
  existsSync('/bin/mount') &&
  spawnSync('/usr/bin/unshare', ['-m', '--propagation', 'private', '/bin/mount', '--bind', '/dev/null', '/dev/null'])
    .status === 0
    ? [
        'for f in /usr/bin/node /bin/node /usr/local/bin/node; do [ -e "$f" ] && /bin/mount --bind /dev/null "$f"; done',
        'for d in /usr/lib/node_modules /usr/local/lib/node_modules; do [ -d "$d" ] && /bin/mount -t tmpfs none "$d"; done',
        'exec "$0" "$@"',
      ].join('; ')
    : null;

/** Runs the executable with an empty PATH and no Node reachable. */
function runExe(args: string[]): Proc {
  const env = { PATH: join(host, 'bin'), HOME: host, LANG: 'C.UTF-8', OUTPOST_NATIVE_CACHE: nativeCache };
  return hideNode
    ? spawnProcess(
        '/usr/bin/unshare',
        ['-m', '--propagation', 'private', '/bin/sh', '-c', hideNode, exe, ...args],
        env,
        host,
      )
    : spawnProcess(exe, args, env, host);
}

/** Starts `outpost serve` on a free loopback port; resolves with its URL and the first admin's password. */
async function serve(): Promise<{ url: string; password: string | undefined }> {
  server = runExe(['serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', '--no-tls']);
  const [, url] = (await server.waitFor(/API and console\s+(http:\/\/127\.0\.0\.1:\d+)/, 60_000)) as unknown as [
    string,
    string,
  ];
  const password = /^ +password {2}(\S+)$/m.exec(server.stdout())?.[1];
  return { url, password };
}

async function login(url: string, password: string): Promise<Response> {
  return fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@outpost.local', password }),
  });
}

let password = '';

beforeAll(async () => {
  const built = await packageCollector({ target: 'linux-x64' });
  if (built.skip !== undefined) {
    skipReason = `the Node runtime or better-sqlite3 for Node 26 cannot be had: ${built.skip}`;
    console.warn(`SKIPPED packaged collector tests: ${skipReason}`);
    return;
  }
  const out = built.dir;
  mkdirSync(join(host, 'bin'), { recursive: true });
  copyFileSync(join(out, 'outpost-linux-x64'), exe);
  chmodSync(exe, 0o755);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
    files: { file: string; sha256: string; size: number; glibc: string; sqlite: { sha256: string } }[];
  };
  expect(manifest.files).toHaveLength(1);
  expect(manifest.files[0]).toMatchObject({ file: 'outpost-linux-x64', sha256: sha256(exe), glibc: '2.34' });
}, 600_000);

afterAll(async () => {
  await server?.kill('SIGKILL');
  dir[Symbol.dispose]();
});

describe('packaged collector executable (linux-x64)', () => {
  it('prints its version with no Node on the machine, extracting nothing', async (ctx) => {
    if (skipReason) ctx.skip();
    const p = runExe(['--version']);
    expect(await p.exited, p.stderr()).toBe(0);
    expect(p.stdout().trim()).toBe(JSON.parse(readFileSync(join(repoRoot, 'collector/package.json'), 'utf8')).version);
    expect(existsSync(nativeCache)).toBe(false);
  });

  it('serves: health and login answered, the SQLite database created through the addon inside', async (ctx) => {
    if (skipReason) ctx.skip();
    const { url, password: pw } = await serve();
    expect(pw).toBeTruthy();
    password = pw!;
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
    const res = await login(url, password);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { token: string }).token).toMatch(/\S{20,}/);

    // The database is real: migrations recorded, the admin stored.
    // Read through the workspace's own build of better-sqlite3 and its statement cache (see collector/src/db).
    const db = openDatabase(join(dataDir, 'outpost.db'));
    const n = prepared<[], { n: number }>(db, 'SELECT count(*) AS n FROM schema_migrations').get();
    expect(n?.n).toBeGreaterThan(10);
    // The addon was extracted to a directory named by its SHA-256.
    const keys = readdirSync(nativeCache);
    expect(keys).toHaveLength(1);
    expect(sha256(join(nativeCache, keys[0]!, 'better_sqlite3.node'))).toBe(keys[0]);
  });

  it('replaces a tampered cached SQLite addon before loading it, and the data is still there', async (ctx) => {
    if (skipReason || !password) ctx.skip();
    await server!.kill('SIGTERM');
    const [key] = readdirSync(nativeCache);
    const cached = join(nativeCache, key!, 'better_sqlite3.node');
    chmodSync(cached, 0o600);
    writeFileSync(cached, 'not an ELF file: a tampered addon');
    const { url, password: again } = await serve();
    // Not a first start: no new admin, and the old password still logs in.
    expect(again).toBeUndefined();
    expect((await login(url, password)).status).toBe(200);
    await server!.waitFor(/replaced before use/);
    expect(sha256(cached)).toBe(key);
  });

  it('installs itself as a service under a root prefix, idempotently, and the installed copy runs', async (ctx) => {
    if (skipReason) ctx.skip();
    const prefix = join(dir.path, 'sysroot');
    const first = runExe(['serve', '--install-service', '--root', prefix]);
    expect(await first.exited, first.stderr()).toBe(0);
    expect(first.stdout()).toMatch(/^executable +created /m);
    expect(sha256(join(prefix, 'opt/outpost-collector/outpost'))).toBe(sha256(exe));
    expect(readFileSync(join(prefix, 'etc/systemd/system/outpost.service'), 'utf8')).toMatch(/^DynamicUser=yes$/m);
    const again = runExe(['serve', '--install-service', '--root', prefix]);
    expect(await again.exited).toBe(0);
    expect(again.stdout()).not.toMatch(/created|updated/);
    const installed = spawnProcess(join(prefix, 'opt/outpost-collector/outpost'), ['--version'], { PATH: '' });
    expect(await installed.exited).toBe(0);
    expect(installed.stdout().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
