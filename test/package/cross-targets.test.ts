/**
 * The executables this machine cannot run (linux-arm64, win-x64, darwin-x64) are still built by `pnpm package` and
 * inspected: the right binary format and machine, the SEA fuse flipped, the PTY assets and the single-executable
 * rewrites of node-pty inside, no stale signature, the manifest in step with the files, the glibc floor recorded.
 * Skipped, saying why, only when an input cannot be had: a runtime from the npm registry, or the aarch64 cross
 * compiler that builds linux-arm64's PTY addon (apt-get install g++-aarch64-linux-gnu). linux-arm64 is also run, under
 * qemu-aarch64: arm64-qemu.test.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageAgent } from '../support/package-build.js';

let skipReason: string | undefined;
let manifest: {
  files: { file: string; platform: string; size: number; sha256: string; glibc?: string; stripped?: boolean }[];
};
const read = (f: string) => readFileSync(join(built, f));
const has = (b: Buffer, s: string) => b.indexOf(Buffer.from(s)) !== -1;
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1';

let built = '';
beforeAll(async () => {
  const r = await packageAgent({ targets: ['linux-arm64', 'win-x64', 'darwin-x64'] });
  if (r.skip !== undefined) {
    skipReason = r.skip;
    console.warn(`SKIPPED cross-target package tests: ${skipReason}`);
    return;
  }
  built = r.dir;
  manifest = JSON.parse(read('manifest.json').toString('utf8'));
}, 600_000);

describe('cross-target executables', () => {
  it('lists every file in the manifest with its real size and SHA-256', (ctx) => {
    if (skipReason) ctx.skip();
    expect(manifest.files.map((f) => [f.file, f.platform])).toEqual([
      ['outpost-agent-darwin-x64', 'darwin-x64'],
      ['outpost-agent-linux-arm64', 'linux-arm64'],
      ['outpost-agent-win-x64.exe', 'win-x64'],
    ]);
    for (const f of manifest.files) {
      const b = read(f.file);
      expect(f.size).toBe(b.length);
      expect(f.sha256).toBe(createHash('sha256').update(b).digest('hex'));
      expect(has(b, FUSE), `${f.file}: SEA fuse`).toBe(true);
    }
  });

  it('win-x64: a PE32+ x86-64 program with no stale signature, the ConPTY addons and inline helpers inside', (ctx) => {
    if (skipReason) ctx.skip();
    const b = read('outpost-agent-win-x64.exe');
    expect(b.toString('latin1', 0, 2)).toBe('MZ');
    const pe = b.readUInt32LE(0x3c);
    expect(b.toString('latin1', pe, pe + 4)).toBe('PE\0\0');
    expect(b.readUInt16LE(pe + 4)).toBe(0x8664);
    const opt = pe + 24;
    expect(b.readUInt16LE(opt)).toBe(0x20b);
    // Data directory 4 (certificate table): empty, the official signature was removed before injection.
    expect(b.readUInt32LE(opt + 112 + 4 * 8 + 4)).toBe(0);
    for (const s of ['conpty.node', 'conpty_console_list.node', '--outpost-conpty-console-list', 'eval: true']) {
      expect(has(b, s), s).toBe(true);
    }
    expect(has(b, 'memory-release.c')).toBe(false); // memory.node is Linux's alone
  });

  it('darwin-x64: a Mach-O x86-64 program with a NODE_SEA segment and no invalid code signature', (ctx) => {
    if (skipReason) ctx.skip();
    const b = read('outpost-agent-darwin-x64');
    expect(b.readUInt32LE(0)).toBe(0xfeedfacf);
    expect(b.readUInt32LE(4)).toBe(0x01000007);
    const commands: number[] = [];
    const segments: string[] = [];
    for (let i = 0, off = 32; i < b.readUInt32LE(16); i++) {
      const cmd = b.readUInt32LE(off);
      commands.push(cmd);
      if (cmd === 0x19) segments.push(b.toString('latin1', off + 8, off + 24).replace(/\0+$/, ''));
      off += b.readUInt32LE(off + 4);
    }
    expect(segments).toContain('NODE_SEA');
    expect(commands).not.toContain(0x1d); // LC_CODE_SIGNATURE
    for (const s of ['pty.node', 'spawn-helper', 'spawnHelperPath']) expect(has(b, s), s).toBe(true);
    expect(has(b, 'memory-release.c')).toBe(false);
  });

  it('linux-arm64: an AArch64 ELF program, stripped, whose glibc floor is 2.28 (the PTY addon compiled here)', (ctx) => {
    if (skipReason) ctx.skip();
    const b = read('outpost-agent-linux-arm64');
    expect(b.toString('latin1', 0, 4)).toBe('\x7fELF');
    expect(b.readUInt16LE(18)).toBe(0xb7);
    expect(has(b, 'pty.node')).toBe(true);
    // memory.node, compiled here too (its source file's name is in its symbol table).
    expect(has(b, 'memory-release.c')).toBe(true);
    // The highest of the Node runtime's (2.28) and the addons' (2.17; the prebuilt PTY addon needed 2.34).
    const entry = manifest.files.find((f) => f.platform === 'linux-arm64');
    expect(entry?.glibc).toBe('2.28');
    expect(entry?.stripped).toBe(true);
    // No trace of the prebuilt addon's GLIBC_2.34 symbol versions anywhere in the executable.
    expect(has(b, 'GLIBC_2.34')).toBe(false);
  });
});
