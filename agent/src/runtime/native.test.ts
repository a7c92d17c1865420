import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { materialiseNative, nativeCacheRoot } from './native.js';

const bytes = new TextEncoder().encode('pretend this is an ELF shared object');
const sha = createHash('sha256').update(bytes).digest('hex');
let dir: string;
let root: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-native-'));
  root = join(dir, 'cache', 'native');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(process.platform === 'win32')('native addon cache', () => {
  it('extracts into an owner-only directory keyed by the hash, then verifies the same file', () => {
    const first = materialiseNative(root, 'pty.node', bytes);
    expect(first).toEqual({ path: join(root, sha, 'pty.node'), sha256: sha, event: 'extracted' });
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, sha)).mode & 0o777).toBe(0o700);
    expect(statSync(first.path).mode & 0o777).toBe(0o500);
    expect(materialiseNative(root, 'pty.node', bytes).event).toBe('verified');
  });

  it('replaces a tampered or truncated cached file before it can be loaded', () => {
    const { path } = materialiseNative(root, 'pty.node', bytes);
    for (const bad of ['evil code', '']) {
      chmodSync(path, 0o700);
      writeFileSync(path, bad);
      const m = materialiseNative(root, 'pty.node', bytes);
      expect(m.event).toBe('replaced');
      expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(sha);
    }
  });

  it('replaces a symlink planted in place of the file instead of following it', () => {
    const { path } = materialiseNative(root, 'pty.node', bytes);
    const elsewhere = join(dir, 'other.node');
    writeFileSync(elsewhere, bytes);
    unlinkSync(path);
    symlinkSync(elsewhere, path);
    expect(materialiseNative(root, 'pty.node', bytes).event).toBe('replaced');
    expect(statSync(path).isFile()).toBe(true);
    expect(readFileSync(path)).toEqual(Buffer.from(bytes));
  });

  it('refuses a cache directory others can write, a symlinked one, or one under a world-writable parent', () => {
    materialiseNative(root, 'pty.node', bytes);
    chmodSync(root, 0o777);
    expect(() => materialiseNative(root, 'pty.node', bytes)).toThrow(
      expect.objectContaining({ code: 'OUTPOST_E_NATIVE_CACHE_UNSAFE' }),
    );
    chmodSync(root, 0o700);

    const real = join(dir, 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = join(dir, 'link');
    symlinkSync(real, link);
    expect(() => materialiseNative(link, 'pty.node', bytes)).toThrow(
      expect.objectContaining({ code: 'OUTPOST_E_NATIVE_CACHE_UNSAFE' }),
    );

    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => materialiseNative(join(open, 'native'), 'pty.node', bytes)).toThrow(
      expect.objectContaining({ code: 'OUTPOST_E_NATIVE_CACHE_UNSAFE' }),
    );
  });

  it('keys the cache directory by the content: another build of the addon gets its own directory', () => {
    const other = new TextEncoder().encode('a newer addon');
    const a = materialiseNative(root, 'pty.node', bytes);
    const b = materialiseNative(root, 'pty.node', other);
    expect(a.path).not.toBe(b.path);
    expect(materialiseNative(root, 'pty.node', bytes).event).toBe('verified');
  });

  it('puts the cache under the system cache for root and the user cache otherwise', () => {
    expect(nativeCacheRoot({ OUTPOST_NATIVE_CACHE: '/srv/x' })).toBe('/srv/x');
    const expected =
      process.getuid?.() === 0
        ? process.platform === 'darwin'
          ? '/Library/Caches/Outpost/native'
          : '/var/cache/outpost/native'
        : '/home/u/.cache/outpost/native';
    expect(nativeCacheRoot({ XDG_CACHE_HOME: '/home/u/.cache' })).toBe(expected);
  });
});
