/**
 * node-pty's Unix addon (`pty.node`) compiled here with a GNU cross compiler, for a Linux target whose prebuilt addon
 * needs a newer glibc than the target's floor (linux-arm64: @lydell/node-pty-linux-arm64's prebuild needs 2.34, the
 * floor is 2.28). See docs/0009-packaging.md, "glibc floor".
 *
 * Inputs, pinned in targets.json like every other input (npm registry + sha512 integrity, cached under
 * ~/.cache/outpost/npm): node-pty's own source tarball (`src/unix/pty.cc`, the version the prebuilds come from), the
 * node-addon-api headers it compiles against, and the target runtime's Node headers. pty.cc is one file, so the
 * compiler is called directly (the flags node-gyp would use for it: node's common.gypi and node-addon-api's
 * except.gypi) instead of through node-gyp, with `pty-glibc228.h` forced in to replace the calls whose glibc symbols
 * are newer than 2.28. Byte-reproducible: relative source paths, `-ffile-prefix-map` over the work directory (assert()
 * keeps `__FILE__`), no debug info, a content-derived build-id; the result is cached under ~/.cache/outpost/addons
 * keyed by the hash of every input (sources, shim, flags, compiler version).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, InputUnavailable, type PinnedPackage, pinnedTarball, untar } from './inputs.js';

const here = fileURLToPath(new URL('./', import.meta.url));

/** targets.json's `pty.compile`: what to compile the addon from, and with which toolchain. */
export interface PtyCompileSpec {
  /** node-pty's npm tarball, the same version the JavaScript side comes from. */
  source: PinnedPackage & { version: string };
  /** node-addon-api (node-pty's one dependency: `napi.h`). */
  addonApi: PinnedPackage & { version: string };
  /** The GNU toolchain prefix (Debian's `g++-<prefix>` package), e.g. aarch64-linux-gnu. */
  cross: string;
  /** The header forced into pty.cc (in scripts/package/). */
  shim: string;
}

/** The compiler flags: node-gyp's for an addon (common.gypi) with C++ exceptions on (node-addon-api's except.gypi). */
const FLAGS = [
  '-std=gnu++20',
  '-O2',
  '-fPIC',
  '-pthread',
  '-fexceptions',
  '-Wall',
  '-Wno-unused-parameter',
  '-D_FORTIFY_SOURCE=2',
  '-DNAPI_CPP_EXCEPTIONS',
  '-DBUILDING_NODE_EXTENSION',
  '-DNODE_GYP_MODULE_NAME=pty',
  '-shared',
  '-Wl,-soname=pty.node',
];

/** The cross compiler's `--version`, or an error naming the Debian package that provides it. */
export function crossCompiler(cross: string, what = 'the PTY addon'): string {
  const r = spawnSync(`${cross}-g++`, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new InputUnavailable(
      `${cross}-g++ is needed to compile ${what} (apt-get install g++-${cross}); ` +
        'the prebuilt addon needs a newer glibc than the target allows, so there is no fallback',
    );
  return r.stdout.split('\n')[0] ?? '';
}

/**
 * Compiles pty.node into `outDir` (created) from the pinned sources and returns its path. `cache: false` always
 * compiles (the reproducibility test compiles twice and compares the bytes).
 */
export function compilePty(
  spec: PtyCompileSpec,
  headersDir: string,
  outDir: string,
  opts: { offline: boolean; cache?: boolean },
): string {
  const compiler = crossCompiler(spec.cross);
  const shim = readFileSync(join(here, spec.shim));
  const key = createHash('sha256')
    .update(JSON.stringify([spec.source, spec.addonApi, FLAGS, compiler]))
    .update(shim)
    // The Node version the headers are of (N-API is stable across versions, but the cache must not outlive an input).
    .update(readFileSync(join(headersDir, 'node_version.h')))
    .digest('hex')
    .slice(0, 16);
  const cached = join(cacheDir(), 'addons', `node-pty-${spec.source.version}-${spec.cross}-${key}`, 'pty.node');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'pty.node');
  if (opts.cache !== false && existsSync(cached)) {
    copyFileSync(cached, out);
    return out;
  }
  const work = mkdtempSync(join(tmpdir(), 'outpost-pty-'));
  try {
    untar(pinnedTarball(spec.source, spec.source.version, opts.offline), join(work, 'node-pty'), ['src/unix/pty.cc']);
    untar(pinnedTarball(spec.addonApi, spec.addonApi.version, opts.offline), join(work, 'node-addon-api'), [
      'napi.h',
      'napi-inl.h',
      'napi-inl.deprecated.h',
    ]);
    copyFileSync(join(here, spec.shim), join(work, spec.shim));
    const args = [
      ...FLAGS,
      // No build path or cache path may enter the output (assert() messages keep __FILE__).
      `-ffile-prefix-map=${work}=.`,
      `-ffile-prefix-map=${headersDir}=node`,
      '-I',
      headersDir,
      '-I',
      'node-addon-api',
      '-include',
      spec.shim,
      '-o',
      'pty.node',
      'node-pty/src/unix/pty.cc',
    ];
    try {
      execFileSync(`${spec.cross}-g++`, args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    } catch (err) {
      throw new Error(`node-pty's pty.cc did not compile: ${String((err as { stderr?: string }).stderr ?? err)}`);
    }
    copyFileSync(join(work, 'pty.node'), out);
    if (opts.cache !== false) {
      mkdirSync(dirname(cached), { recursive: true });
      const tmp = `${cached}.tmp-${process.pid}`;
      copyFileSync(out, tmp);
      renameSync(tmp, cached);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}
