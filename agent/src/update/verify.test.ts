/**
 * The verifier against real signed repositories served over a real loopback HTTP server: every refusal branch
 * (untrusted key, expired, rolled-back metadata, tampered bytes, another platform, below-threshold root rotation)
 * and the accepted paths (a release, a rotated root).
 */
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  currentPlatform,
  initReleaseKeys,
  OutpostError,
  releasePaths,
  releaseTargetPath,
  rotateRoot,
  signRelease,
} from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectorFetcher } from './fetch.js';
import { versionExecutable } from './layout.js';
import { preflight, stageRelease } from './stage.js';
import { verifyRelease } from './verify.js';

const platform = currentPlatform();
let tmp: string;
let server: Server;
/** The directory the server serves as `/v1/updates/` (`metadata/`, `targets/`); tests point it where they need. */
let served = '';
let base = '';
/** A metadata file whose request the server cuts (a collector killed mid-download), or none. */
let resetOn: string | undefined;

/** A fake executable that prints `version` for --version (the real executables are tested in test/package). */
function packages(version: string, platforms = [platform]): string {
  const dir = mkdtempSync(join(tmp, 'pkg-'));
  for (const p of platforms) {
    const f = join(dir, `outpost-agent-${p}`);
    writeFileSync(f, `#!/bin/sh\necho ${version}\n`);
    chmodSync(f, 0o755);
  }
  return dir;
}

function keys(name: string): string {
  const dir = join(tmp, name);
  initReleaseKeys(dir);
  return dir;
}

/** A fresh agent state: its TUF directory and the root it was given at install. */
function agent(keysDir: string) {
  const state = mkdtempSync(join(tmp, 'agent-'));
  return {
    tufDir: join(state, 'tuf'),
    rootJson: readFileSync(join(releasePaths(keysDir).metadata, '1.root.json'), 'utf8'),
    fetcher: new CollectorFetcher({ server: base, tmpDir: join(state, 'dl') }),
    state,
  };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(OutpostError);
    return (err as OutpostError).code;
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'outpost-verify-'));
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const rel = path.replace(/^\/v1\/updates\//, '');
    const file = join(served, rel);
    if (resetOn !== undefined && rel.endsWith(resetOn)) {
      req.socket.destroy();
      return;
    }
    if (!path.startsWith('/v1/updates/') || rel.includes('..') || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe('release verification', () => {
  it('accepts a signed release, stages it with its hash checked, and pre-flights it', async () => {
    const k = keys('good');
    signRelease({ keysDir: k, packagesDir: packages('0.2.0'), version: '0.2.0' });
    served = releasePaths(k).repo;
    const a = agent(k);
    const v = await verifyRelease({ ...a, platform, version: '0.2.0' });
    expect(v.custom).toMatchObject({ version: '0.2.0', platform });
    const root = join(a.state, 'install');
    const exe = await stageRelease({ root, version: '0.2.0', platform, target: v.target, fetcher: a.fetcher });
    expect(exe).toBe(versionExecutable(root, '0.2.0', platform));
    expect(readFileSync(exe, 'utf8')).toContain('echo 0.2.0');
    expect(existsSync(`${join(root, 'versions', '0.2.0')}.partial`)).toBe(false);
    await preflight(exe, '0.2.0');
    expect(await refusal(preflight(exe, '0.3.0'))).toBe('OUTPOST_E_UPDATE_PREFLIGHT');
  });

  it('refuses metadata signed by keys the agent does not trust', async () => {
    const trusted = keys('trusted');
    const other = keys('other');
    signRelease({ keysDir: other, packagesDir: packages('0.2.0'), version: '0.2.0' });
    served = releasePaths(other).repo;
    expect(await refusal(verifyRelease({ ...agent(trusted), platform, version: '0.2.0' }))).toBe(
      'OUTPOST_E_UPDATE_UNVERIFIED',
    );
  });

  it('reports a snapshot or targets download cut on the way as a fetch failure, not as metadata that fails to verify', async () => {
    const k = keys('reset');
    signRelease({ keysDir: k, packagesDir: packages('0.2.0'), version: '0.2.0' });
    served = releasePaths(k).repo;
    try {
      for (const file of ['snapshot.json', 'targets.json']) {
        resetOn = file;
        const err = await verifyRelease({ ...agent(k), platform, version: '0.2.0' }).then(
          () => undefined,
          (e: unknown) => e as OutpostError,
        );
        expect(err?.code, file).toBe('OUTPOST_E_UPDATE_FETCH');
        expect(err?.message, file).toMatch(/socket hang up|ECONNRESET/);
      }
    } finally {
      resetOn = undefined;
    }
    // The same agent state verifies once the collector answers again.
    expect((await verifyRelease({ ...agent(k), platform, version: '0.2.0' })).custom).toMatchObject({
      version: '0.2.0',
    });
  });

  it('refuses expired metadata (a frozen or replayed repository)', async () => {
    const k = keys('expired');
    const day = 86_400_000;
    signRelease({
      keysDir: k,
      packagesDir: packages('0.2.0'),
      version: '0.2.0',
      now: Date.now() - 10 * day,
      lifetimes: { timestamp: day },
    });
    served = releasePaths(k).repo;
    expect(await refusal(verifyRelease({ ...agent(k), platform, version: '0.2.0' }))).toBe('OUTPOST_E_UPDATE_EXPIRED');
  });

  it('refuses metadata older than what it already trusted (rollback attack)', async () => {
    const k = keys('rollback');
    signRelease({ keysDir: k, packagesDir: packages('0.2.0'), version: '0.2.0' });
    const old = join(tmp, 'rollback-old');
    cpSync(releasePaths(k).repo, old, { recursive: true });
    signRelease({ keysDir: k, packagesDir: packages('0.3.0'), version: '0.3.0' });
    served = releasePaths(k).repo;
    const a = agent(k);
    await verifyRelease({ ...a, platform, version: '0.3.0' });
    served = old; // the collector now serves the older, still unexpired, signed set
    expect(await refusal(verifyRelease({ ...a, platform, version: '0.2.0' }))).toBe('OUTPOST_E_UPDATE_ROLLBACK');
  });

  it('refuses bytes that differ from the signed hash, keeping nothing staged', async () => {
    const k = keys('tampered');
    signRelease({ keysDir: k, packagesDir: packages('0.2.0'), version: '0.2.0' });
    served = releasePaths(k).repo;
    const a = agent(k);
    const v = await verifyRelease({ ...a, platform, version: '0.2.0' });
    const file = join(releasePaths(k).targets, releaseTargetPath(platform, '0.2.0'));
    writeFileSync(file, readFileSync(file, 'utf8').replace('0.2.0', '6.6.6'));
    const root = join(a.state, 'install');
    expect(
      await refusal(stageRelease({ root, version: '0.2.0', platform, target: v.target, fetcher: a.fetcher })),
    ).toBe('OUTPOST_E_UPDATE_TAMPERED');
    expect(existsSync(join(root, 'versions', '0.2.0'))).toBe(false);
    expect(existsSync(join(root, 'versions', '0.2.0.partial'))).toBe(false);
    // A longer file is cut at the signed length and refused the same way.
    writeFileSync(file, `${readFileSync(file, 'utf8')}${'x'.repeat(4096)}`);
    expect(
      await refusal(stageRelease({ root, version: '0.2.0', platform, target: v.target, fetcher: a.fetcher })),
    ).toBe('OUTPOST_E_UPDATE_TAMPERED');
  });

  it('finds no target when the release was signed for another platform only', async () => {
    const k = keys('platform');
    const other = platform === 'linux-arm64' ? 'linux-x64' : 'linux-arm64';
    signRelease({ keysDir: k, packagesDir: packages('0.2.0', [other]), version: '0.2.0' });
    served = releasePaths(k).repo;
    expect(await refusal(verifyRelease({ ...agent(k), platform, version: '0.2.0' }))).toBe(
      'OUTPOST_E_UPDATE_NO_TARGET',
    );
  });

  it('follows a root rotation signed by the old threshold, and refuses one below it', async () => {
    const k = keys('rotate');
    const a = agent(k); // holds root v1
    const firstRoot = JSON.parse(a.rootJson) as { signed: { roles: { root: { keyids: string[] } } } };
    const [k1, k2] = firstRoot.signed.roles.root.keyids;
    rotateRoot(k, { removeRootKeys: [k1!] });
    signRelease({ keysDir: k, packagesDir: packages('0.2.0'), version: '0.2.0' });
    served = releasePaths(k).repo;
    await verifyRelease({ ...a, platform, version: '0.2.0' });
    expect(JSON.parse(readFileSync(join(a.tufDir, 'root.json'), 'utf8')).signed.version).toBe(2);

    // A thief holding one old root key (k2 lost with it: only one of the v1 keys signs v2) cannot rotate.
    const t = keys('rotate-thief');
    const b = agent(t);
    const ids = (JSON.parse(b.rootJson) as typeof firstRoot).signed.roles.root.keyids;
    const keyDir = releasePaths(t).keys;
    rmSync(join(keyDir, `${ids[1]}.pem`));
    rmSync(join(keyDir, `${ids[2]}.pem`));
    rotateRoot(t, { removeRootKeys: [ids[1]!] });
    signRelease({ keysDir: t, packagesDir: packages('0.2.0'), version: '0.2.0' });
    served = releasePaths(t).repo;
    expect(await refusal(verifyRelease({ ...b, platform, version: '0.2.0' }))).toBe('OUTPOST_E_UPDATE_UNVERIFIED');
    expect(k2).toBeDefined();
  });
});
