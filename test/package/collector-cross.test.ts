/**
 * The linux-arm64 collector (cross-built here, never run: no arm64 machine or emulator): an aarch64 executable with
 * the SEA fuse flipped, carrying the aarch64 SQLite addon the manifest names, with the build's glibc floor. Skipped,
 * saying why, when the arm64 addon has not been built yet (`pnpm package:collector` with g++-aarch64-linux-gnu
 * installed builds and caches it) or the runtime is not cached.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageCollector } from '../support/package-build.js';

let skipReason: string | undefined;
const EM_AARCH64 = 183;

let built = '';
beforeAll(async () => {
  // offline: a first cross-compile of the addon takes minutes; the test uses the one `pnpm package` cached.
  const r = await packageCollector({ target: 'linux-arm64', offline: true });
  if (r.skip !== undefined) {
    skipReason = `the linux-arm64 collector cannot be built here: ${r.skip}`;
    console.warn(`SKIPPED: ${skipReason}`);
    return;
  }
  built = r.dir;
}, 600_000);

describe('packaged collector, linux-arm64 (inspected, not run)', () => {
  it('is an aarch64 single executable holding the aarch64 SQLite addon the manifest lists', (ctx) => {
    if (skipReason) ctx.skip();
    const exe = readFileSync(join(built, 'outpost-linux-arm64'));
    expect(exe.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(exe.readUInt16LE(18)).toBe(EM_AARCH64);
    expect(exe.includes(Buffer.from('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1'))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(built, 'manifest.json'), 'utf8')) as {
      files: { file: string; sha256: string; size: number; glibc: string; sqlite: { sha256: string } }[];
    };
    const [entry] = manifest.files;
    expect(entry).toMatchObject({
      file: 'outpost-linux-arm64',
      size: exe.length,
      sha256: createHash('sha256').update(exe).digest('hex'),
      glibc: '2.34',
    });
    // The addon inside: find an aarch64 ELF shared object whose hash is the manifest's.
    const cache = process.env.OUTPOST_CACHE_DIR || join(process.env.HOME ?? '', '.cache/outpost');
    const addon = readFileSync(
      join(cache, 'addons/better-sqlite3-12.11.1-node-26.10.0-linux-arm64/better_sqlite3.node'),
    );
    expect(createHash('sha256').update(addon).digest('hex')).toBe(entry!.sqlite.sha256);
    expect(addon.readUInt16LE(18)).toBe(EM_AARCH64);
    expect(exe.indexOf(addon)).toBeGreaterThan(0);
  });
});
