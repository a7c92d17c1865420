/**
 * node-pty's addon compiled here from its pinned source (scripts/package/pty-compile.ts), as linux-arm64 ships it:
 * two compilations give the same bytes with no build path inside; it needs no glibc symbol above 2.28, no libstdc++
 * newer than GCC 8's and no libutil;
 * a missing cross compiler is a clear error naming the Debian package. The glibc shim (pty-glibc228.h) is also
 * compiled for this machine and driven from Node: the child runs on a new terminal that is its controlling terminal,
 * in a session of its own, with the window size asked for, and its output and exit code come back.
 *
 * Skips, saying why, when the aarch64 cross compiler is absent (apt-get install g++-aarch64-linux-gnu) or a pinned
 * input cannot be fetched.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareVersions, glibcFloor, InputUnavailable, type PinnedPackage } from '../../scripts/package/build.js';
import { cacheDir, unpackOnce } from '../../scripts/package/inputs.js';
import { compilePty, type PtyCompileSpec } from '../../scripts/package/pty-compile.js';
import { repoRoot, tempDir } from '../support/collector.js';

type Targets = {
  node: string;
  targets: Record<string, { runtime: PinnedPackage; pty: { compile?: PtyCompileSpec } }>;
};
const spec = JSON.parse(readFileSync(join(repoRoot, 'scripts/package/targets.json'), 'utf8')) as Targets;
const arm64 = spec.targets['linux-arm64']!;
const compile = arm64.pty.compile!;
const dir = tempDir('pty-compile');
afterAll(() => dir[Symbol.dispose]());

const has = (cmd: string) => !spawnSync(cmd, ['--version']).error;
const noCross = has(`${compile.cross}-g++`) ? undefined : `${compile.cross}-g++ is not installed`;
if (noCross) console.warn(`SKIPPED pty-compile tests: ${noCross} (apt-get install g++-${compile.cross})`);

/** The Node headers of a target's pinned runtime (cached; fetched once). */
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

/** Compiles, or returns why it cannot be done here (a pinned input not obtainable). */
function tryCompile(s: PtyCompileSpec, h: () => string, out: string): string | { skip: string } {
  try {
    return compilePty(s, h(), out, { offline: false, cache: false });
  } catch (err) {
    if (err instanceof InputUnavailable) return { skip: err.message };
    throw err;
  }
}

describe('the linux-arm64 PTY addon compiled from node-pty source', () => {
  it('is byte-reproducible, AArch64, needs glibc ≤ 2.28 and no libutil', (ctx) => {
    if (noCross) ctx.skip();
    const a = tryCompile(compile, () => headers('linux-arm64'), join(dir.path, 'a'));
    const b = tryCompile(compile, () => headers('linux-arm64'), join(dir.path, 'b'));
    if (typeof a !== 'string' || typeof b !== 'string') return ctx.skip();
    const bytes = readFileSync(a);
    expect(bytes.equals(readFileSync(b))).toBe(true);
    expect(bytes.indexOf(Buffer.from(dir.path))).toBe(-1);
    expect(bytes.indexOf(Buffer.from(cacheDir()))).toBe(-1);
    expect(bytes.readUInt16LE(18)).toBe(0xb7); // e_machine: AArch64
    expect(glibcFloor(a)).toBe('2.17');
    const dynamic = execFileSync('objdump', ['-p', '-T', a], { encoding: 'utf8' });
    expect(dynamic).not.toMatch(/NEEDED\s+libutil/);
    expect(dynamic).not.toMatch(/\b(openpty|forkpty|login_tty|pthread_sigmask)\b/);
    expect(dynamic).toMatch(/napi_register_module_v1/);
    // libstdc++ too must be the one of a 2.28-era system: GCC 8's (RHEL 8, Debian 10) provides up to GLIBCXX_3.4.25.
    const cxx = [...new Set(dynamic.match(/GLIBCXX_[0-9.]+/g) ?? [])].map((v) => v.slice(8)).sort(compareVersions);
    expect(compareVersions(cxx.at(-1) ?? '0', '3.4.25')).toBeLessThanOrEqual(0);
  }, 120_000);

  it('refuses to build without the cross compiler, naming the package to install', () => {
    const missing = { ...compile, cross: 'outpost-no-such-arch-linux-gnu' };
    expect(() => compilePty(missing, '/nonexistent', join(dir.path, 'never'), { offline: true })).toThrow(
      /outpost-no-such-arch-linux-gnu-g\+\+ is needed .*apt-get install g\+\+-outpost-no-such-arch-linux-gnu.*no fallback/,
    );
  });

  it('its openpty/forkpty/login_tty replacements give the child a controlling terminal of the asked size', async (ctx) => {
    // The same source and shim compiled for this machine (Debian's g++ answers to x86_64-linux-gnu-g++ too).
    if (process.arch !== 'x64' || !has('x86_64-linux-gnu-g++')) return ctx.skip();
    const built = tryCompile({ ...compile, cross: 'x86_64-linux-gnu' }, () => headers('linux-x64'), dir.path);
    if (typeof built !== 'string') return ctx.skip();
    expect(glibcFloor(built)).toBe('2.14'); // memcpy@GLIBC_2.14 on x86-64; no 2.34 libutil symbols
    const script = `
      const m = { exports: {} };
      process.dlopen(m, ${JSON.stringify(built)});
      const child = 'tty; stty size; read -r _ _ _ _ _ sid _ tty _ < /proc/$$/stat; echo "pid=$$ sid=$sid tty=$tty"; exit 7';
      const r = m.exports.fork('/bin/sh', ['-c', child], ['PATH=/usr/bin:/bin'], '/', 91, 33, -1, -1, true, '',
        (code) => { setTimeout(() => { console.log(JSON.stringify({ out, code, pty: r.pty })); process.exit(0); }, 200); }); // why: the exit callback can come before the last output is read from the master
      let out = '';
      const s = new (require('node:tty').ReadStream)(r.fd);
      s.on('data', (d) => { out += d; });
      s.on('error', () => {});`;
    const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    await new Promise((r) => p.once('close', r));
    const { out, code, pty } = JSON.parse(stdout) as { out: string; code: number; pty: string };
    expect(code).toBe(7);
    expect(pty).toMatch(/^\/dev\/pts\/\d+$/);
    expect(out).toContain(pty);
    expect(out).toMatch(/33 91/);
    const m = /pid=(\d+) sid=(\d+) tty=(\d+)/.exec(out);
    expect(m?.[1]).toBe(m?.[2]); // setsid: the child leads its own session
    expect(Number(m?.[3])).toBeGreaterThan(0); // TIOCSCTTY: the terminal is its controlling terminal
  }, 120_000);
});
