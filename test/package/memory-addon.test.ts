/**
 * The Linux executables' `memory.node` (scripts/package/memory-release.c, compiled by memory-compile.ts): for each
 * Linux target whose toolchain is installed, two compilations give the same bytes with no build path inside, for the
 * right machine, needing no glibc symbol above the 2.28 floor. The x64 one, loaded into a Node process running from
 * its own copy of the runtime (a file no other process maps, as the agent's executable is), pages the executable's
 * read-only pages out: the process's file-backed RSS falls, and what it needs again faults back in.
 *
 * Skips, saying why, when a target's cross compiler is absent (apt-get install gcc-<triplet>) or a pinned input
 * cannot be fetched.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareVersions, glibcFloor, InputUnavailable, type PinnedPackage } from '../../scripts/package/build.js';
import { cacheDir, unpackOnce } from '../../scripts/package/inputs.js';
import { compileMemoryAddon, type MemoryCompileSpec } from '../../scripts/package/memory-compile.js';
import { repoRoot, tempDir } from '../support/collector.js';

type Targets = {
  node: string;
  targets: Record<string, { runtime: PinnedPackage; memory?: MemoryCompileSpec; maxGlibc?: string }>;
};
const spec = JSON.parse(readFileSync(join(repoRoot, 'scripts/package/targets.json'), 'utf8')) as Targets;
const dir = tempDir('memory-addon');
afterAll(() => dir[Symbol.dispose]());

const E_MACHINE: Record<string, number> = { 'linux-x64': 0x3e, 'linux-arm64': 0xb7 };
const headers = (t: string) =>
  join(
    unpackOnce(
      spec.targets[t]!.runtime,
      spec.node,
      false,
      join(cacheDir(), 'runtimes', `node-${t}-${spec.node}-headers`),
      ['include/node'],
    ),
    'include/node',
  );

/** Compiles, or returns why it cannot be done here (no toolchain, or a pinned input not obtainable). */
function tryCompile(t: string, out: string): string | { skip: string } {
  try {
    return compileMemoryAddon(spec.targets[t]!.memory!, headers(t), out);
  } catch (err) {
    if (err instanceof InputUnavailable) return { skip: err.message };
    throw err;
  }
}

describe('memory.node', () => {
  it('is carried by exactly the Linux targets', () => {
    const withAddon = Object.entries(spec.targets)
      .filter(([, t]) => t.memory)
      .map(([name]) => name)
      .sort();
    expect(withAddon).toEqual(['linux-arm64', 'linux-x64']);
  });

  for (const t of ['linux-x64', 'linux-arm64']) {
    it(`${t}: byte-reproducible, for its machine, within the glibc floor`, (ctx) => {
      const a = tryCompile(t, join(dir.path, t, 'a'));
      if (typeof a !== 'string') {
        console.warn(`SKIPPED ${t} memory.node: ${a.skip}`);
        return ctx.skip();
      }
      // What compiled once must compile again: the second build is the reproducibility check, never skipped.
      const b = compileMemoryAddon(spec.targets[t]!.memory!, headers(t), join(dir.path, t, 'b'));
      const bytes = readFileSync(a);
      expect(bytes.equals(readFileSync(b))).toBe(true);
      expect(bytes.indexOf(Buffer.from(dir.path))).toBe(-1);
      expect(bytes.indexOf(Buffer.from(cacheDir()))).toBe(-1);
      expect(bytes.readUInt16LE(18)).toBe(E_MACHINE[t]);
      const floor = glibcFloor(a);
      expect(floor).toBeDefined();
      expect(compareVersions(floor!, spec.targets[t]!.maxGlibc!)).toBeLessThanOrEqual(0);
    }, 120_000);
  }

  it('pages out the executable it runs in: file-backed RSS falls, and the process goes on', (ctx) => {
    if (process.platform !== 'linux' || process.arch !== 'x64') return ctx.skip();
    const addon = tryCompile('linux-x64', join(dir.path, 'load'));
    if (typeof addon !== 'string') return ctx.skip();
    // Its own copy: pages other processes map stay resident (the kernel pages out only this process's own).
    const node = join(dir.path, 'node');
    copyFileSync(process.execPath, node);
    const script = join(dir.path, 'release.cjs');
    writeFileSync(
      script,
      `const { readFileSync } = require('node:fs');
const kb = (k) => Number(new RegExp('^' + k + ':\\\\s+(\\\\d+) kB', 'm').exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]);
const fileKb = () => kb('Rss') - kb('Anonymous');
const m = { exports: {} };
process.dlopen(m, ${JSON.stringify(addon)});
require('node:zlib'); require('node:crypto').createHash('sha256').update('x').digest('hex');
const before = fileKb();
const outcome = m.exports.release();
const after = fileKb();
// Code the process runs next faults back in.
const again = require('node:crypto').createHash('sha256').update('y').digest('hex');
console.log(JSON.stringify({ before, after, outcome, again: again.length }));`,
    );
    const r = spawnSync(node, [script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const { before, after, outcome, again } = JSON.parse(r.stdout) as {
      before: number;
      after: number;
      outcome: { mappings: number; bytes: number; error: number; trimmed: number };
      again: number;
    };
    expect(outcome.error).toBe(0);
    expect(outcome.mappings).toBeGreaterThanOrEqual(2); // at least the code and the read-only data
    expect(outcome.bytes).toBeGreaterThan(10 * 2 ** 20);
    expect(before - after).toBeGreaterThan(10 * 1024); // > 10 MB of the executable's pages given back
    expect(again).toBe(64);
  }, 60_000);
});
