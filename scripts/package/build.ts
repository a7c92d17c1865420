/**
 * `pnpm package`: builds `outpost-agent` as a Node single executable application (SEA) for every target in
 * targets.json, into dist/packages/ with a manifest.json (platform, size, SHA-256 per file). See docs/0009-packaging.md.
 *
 * Inputs come only from the npm registry, pinned by version and sha512 integrity: the Node runtime per target
 * (`node-<platform>-<arch>`) and node-pty's prebuilt addon (`@lydell/node-pty-<platform>-<arch>`). They are cached
 * under ~/.cache/outpost (OUTPOST_CACHE_DIR); once cached, the build runs offline (`--offline` refuses to fetch).
 * Byte-reproducible: sorted inputs, relative paths in the bundle, the code cache made with a fixed random seed
 * (CODE_CACHE_FLAGS), no snapshot, and the files' modification time set to the commit time (SOURCE_DATE_EPOCH).
 *
 * Usage: tsx scripts/package/build.ts [--target linux-x64 ...] [--out dir] [--offline] [--version X] [--skip-installers]
 * (run `pnpm build` first; `pnpm package` does both). Then the installers (.deb, .rpm, .msi): installers/index.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
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
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Bundles, bundle, COMMANDS_ASSET } from './bundle.js';
import { buildInstallers, type InstallerFile } from './installers/index.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const here = fileURLToPath(new URL('./', import.meta.url));

interface Target {
  runtime: PinnedPackage;
  pty: PinnedPackage & { assets: string[] };
  /** Highest glibc symbol version any native piece may need (Linux). */
  maxGlibc?: string;
}
interface Targets {
  node: string;
  nodePty: string;
  targets: Record<string, Target>;
}

/** A pinned npm package (name and sha512 integrity). */
export interface PinnedPackage {
  package: string;
  integrity: string;
}

export interface ManifestFile {
  file: string;
  platform: string;
  node: string;
  size: number;
  sha256: string;
  glibc?: string;
  /** Linux: whether the runtime's symbol tables were stripped. */
  stripped?: boolean;
}

/** A pinned input cannot be had (not cached, and the registry cannot be reached): `pnpm package` exits 3. */
export class InputUnavailable extends Error {}

const log = (msg: string) => process.stderr.write(`package: ${msg}\n`);

export const cacheDir = (): string => process.env.OUTPOST_CACHE_DIR || join(homedir(), '.cache', 'outpost');

/** A pinned npm package's tarball from the cache, fetched with `npm pack` (npm checks the integrity) if missing. */
export function pinnedTarball(spec: PinnedPackage, version: string, offline: boolean): string {
  const dir = join(cacheDir(), 'npm');
  const file = join(dir, `${spec.package.replace('@', '').replace('/', '-')}-${version}.tgz`);
  const [algo, b64] = spec.integrity.split('-', 2) as [string, string];
  const check = (f: string) => createHash(algo).update(readFileSync(f)).digest('base64') === b64;
  if (existsSync(file)) {
    if (check(file)) return file;
    log(`${file} does not match its pinned integrity; fetching it again`);
  }
  if (offline) throw new InputUnavailable(`${spec.package}@${version} is not cached in ${dir} and --offline was given`);
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(dir, '.fetch-'));
  try {
    log(`fetching ${spec.package}@${version} from the npm registry`);
    let out: string;
    try {
      out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp, `${spec.package}@${version}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? String(err);
      throw new InputUnavailable(
        `${spec.package}@${version} cannot be fetched from the npm registry: ${stderr.trim()}`,
      );
    }
    const [info] = JSON.parse(out) as { filename: string; integrity: string }[];
    if (!info || info.integrity !== spec.integrity) {
      throw new Error(`${spec.package}@${version}: registry integrity ${info?.integrity} is not the pinned one`);
    }
    const fetched = join(tmp, info.filename);
    if (!check(fetched)) throw new Error(`${spec.package}@${version}: tarball does not match its integrity`);
    renameSync(fetched, file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return file;
}

/** Extracts `members` (paths inside the tarball's `package/`) into `dir`. */
export function untar(tgz: string, dir: string, members: string[]): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1', ...members.map((m) => `package/${m}`)]);
}

/** The highest GLIBC_x.y symbol version an ELF file needs (objdump -T), or undefined when it needs none. */
export function glibcFloor(file: string): string | undefined {
  const out = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const versions = [...new Set(out.match(/GLIBC_[0-9.]+/g) ?? [])].map((v) => v.slice(6));
  return versions.sort(compareVersions).at(-1);
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The host's own runtime of the pinned version: the SEA blob must be generated by the same Node version. */
function hostTarget(): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  if (process.platform !== 'linux') throw new Error('packaging runs on Linux');
  return `linux-${arch}`;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The time stamped on outputs: SOURCE_DATE_EPOCH, else the commit's time. */
export function sourceDateEpoch(): number {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: repoRoot, encoding: 'utf8' }).trim());
  } catch {
    return 0;
  }
}

export interface BuildOptions {
  targets?: string[];
  /** Stamp this version instead of agent/package.json's (two builds differing only in version, for update tests). */
  version?: string;
  outDir?: string;
  offline?: boolean;
}

/** Builds the executables; returns the manifest entries. */
export async function buildPackages(opts: BuildOptions = {}): Promise<ManifestFile[]> {
  const spec = JSON.parse(readFileSync(join(here, 'targets.json'), 'utf8')) as Targets;
  const names = (opts.targets?.length ? opts.targets : Object.keys(spec.targets)).slice().sort();
  for (const n of names)
    if (!spec.targets[n]) throw new Error(`unknown target ${n}; known: ${Object.keys(spec.targets)}`);
  const outDir = opts.outDir ?? join(repoRoot, 'dist/packages');
  const offline = opts.offline ?? false;
  if (!existsSync(join(repoRoot, 'agent/dist/cli.js')))
    throw new Error('agent/dist is missing: run `pnpm build` first');
  const hostNode = ensureRuntime(spec, hostTarget(), offline);

  const work = mkdtempSync(join(tmpdir(), 'outpost-package-'));
  const epoch = sourceDateEpoch();
  const files: ManifestFile[] = [];
  try {
    // Inputs are referred to by paths relative to the work directory, so no build path enters the blob.
    if (opts.version !== undefined && !/^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/.test(opts.version))
      throw new Error(`--version ${opts.version} is not major.minor.patch[-pre]`);
    const bundles = await bundle(work, opts.version);
    mkdirSync(outDir, { recursive: true });
    for (const t of names) {
      log(`building ${t} (Node ${spec.node})`);
      const built = buildTarget({ spec, t, work, bundles, hostNode, offline, epoch });
      const dest = join(outDir, built.file);
      copyFileSync(join(work, t, built.file), dest);
      chmodSync(dest, 0o755);
      utimesSync(dest, epoch, epoch);
      files.push({
        file: built.file,
        platform: t,
        node: spec.node,
        size: statSync(dest).size,
        sha256: sha256(dest),
        ...(built.glibc ? { glibc: built.glibc } : {}),
        ...(built.stripped !== undefined ? { stripped: built.stripped } : {}),
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  writeManifest(outDir, files, opts.version ?? agentVersion(), epoch);
  return files;
}

/** The pinned Node runtime of target `t`, unpacked once into the cache; returns its binary. */
function ensureRuntime(spec: Targets, t: string, offline: boolean): string {
  const target = spec.targets[t];
  if (!target) throw new Error(`no runtime for ${t}`);
  const runtimeDir = join(cacheDir(), 'runtimes', `node-${t}-${spec.node}`);
  const bin = join(runtimeDir, t.startsWith('win') ? 'bin/node.exe' : 'bin/node');
  if (!existsSync(bin)) {
    const tgz = pinnedTarball(target.runtime, spec.node, offline);
    // Unpacked beside and renamed into place, so a concurrent build never sees half a binary.
    mkdirSync(join(cacheDir(), 'runtimes'), { recursive: true });
    const tmp = mkdtempSync(`${runtimeDir}.tmp-`);
    untar(tgz, tmp, [t.startsWith('win') ? 'bin/node.exe' : 'bin/node']);
    try {
      renameSync(tmp, runtimeDir);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return bin;
}

/**
 * The runtime flags every executable starts with. V8's lite mode (interpreter only, feedback allocated lazily, no
 * WebAssembly): idle RSS 73 MB instead of 125 MB (anonymous 27 vs 70), same CPU for a full inventory, no shell
 * slowdown measurable above the noise (docs/0009-packaging.md, "Footprint"). Nothing in the agent uses WebAssembly.
 */
const EXEC_ARGV = ['--lite-mode'];

/**
 * The flags of the Node that writes the blob, so the code cache is both accepted and byte-reproducible. V8 checks a
 * cache against a hash of the flags in force, so the build runs with the executable's own flags (else every start
 * prints "Code cache data rejected" and compiles anyway). And a cache holds each string's hash, salted by a seed
 * drawn from V8's random generator: two builds differed in 325,186 bytes. `--random-seed` fixes that generator at
 * build time only; V8 leaves it out of the flag hash (`--hash-seed` would be in it: the cache would be rejected), and
 * the executable still draws its own seed at every start, so nothing about hash flooding changes at run time.
 */
const CODE_CACHE_FLAGS = [...EXEC_ARGV, '--random-seed=1'];

/** One target's executable in `work/<t>/`: its runtime made ready, the SEA blob injected, the time stamped. */
function buildTarget(o: {
  spec: Targets;
  t: string;
  work: string;
  bundles: Bundles;
  hostNode: string;
  offline: boolean;
  epoch: number;
}): { file: string; glibc: string | undefined; stripped: boolean | undefined } {
  const { spec, t, work, bundles } = o;
  const target = spec.targets[t]!;
  const win = t.startsWith('win');
  const ptyDir = join(work, t, 'pty');
  untar(pinnedTarball(target.pty, spec.nodePty, o.offline), ptyDir, target.pty.assets);
  const { base, glibc, stripped } = preparedRuntime(t, target, ensureRuntime(spec, t, o.offline), work, ptyDir);
  const file = `outpost-agent-${t}${win ? '.exe' : ''}`;
  const config = {
    main: relative(work, bundles.main),
    mainFormat: 'module',
    executable: base,
    output: join(t, file),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    // V8's code cache of the CLI's half, so `--version` and the first lines of every command skip compiling it. A
    // cache is only valid on the platform that made it, so only the host's own target carries one.
    useCodeCache: t === hostTarget(),
    execArgv: EXEC_ARGV,
    assets: Object.fromEntries(
      [
        [COMMANDS_ASSET, relative(work, bundles.commands)] as const,
        ...target.pty.assets.map((a) => [a, join(t, 'pty', a)] as const),
      ].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ),
  };
  writeFileSync(join(work, `${t}.sea.json`), JSON.stringify(config, null, 2));
  execFileSync(o.hostNode, [...CODE_CACHE_FLAGS, '--build-sea', `${t}.sea.json`], {
    cwd: work,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const built = join(work, t, file);
  chmodSync(built, 0o755);
  utimesSync(built, o.epoch, o.epoch);
  return { file, glibc, stripped };
}

/**
 * The runtime the blob goes into: Windows' without its signature (osslsigncode), Linux's stripped when the host's
 * strip can read it, with the glibc floor of every native piece checked against the target's.
 */
function preparedRuntime(
  t: string,
  target: Target,
  runtime: string,
  work: string,
  ptyDir: string,
): { base: string; glibc: string | undefined; stripped: boolean | undefined } {
  let base = runtime;
  if (t.startsWith('win')) {
    // The official node.exe is signed; a signature over changed bytes is worse than none. Sign after injection
    // with your own certificate (osslsigncode sign) if you have one.
    const unsigned = join(work, t, 'node-unsigned.exe');
    if (spawnSync('osslsigncode', ['--version']).error) {
      throw new InputUnavailable(`${t}: osslsigncode is needed (apt-get install osslsigncode), or leave it out`);
    }
    execFileSync('osslsigncode', ['remove-signature', '-in', base, '-out', unsigned], { stdio: 'ignore' });
    return { base: unsigned, glibc: undefined, stripped: undefined };
  }
  if (!t.startsWith('linux')) return { base, glibc: undefined, stripped: undefined };
  // Symbols and debug info are a quarter of the binary; .dynsym (what addons link against) stays. The host's
  // strip may not know the target's machine (arm64 on an x64 host without binutils-aarch64-linux-gnu).
  const out = join(work, t, 'node-stripped');
  const stripped = spawnSync('strip', ['-o', out, base], { stdio: 'ignore' }).status === 0;
  if (stripped) base = out;
  else log(`${t}: the host's strip cannot read this binary; shipping it unstripped`);
  const floors = [base, ...target.pty.assets.map((a) => join(ptyDir, a))].map(glibcFloor);
  const glibc = floors
    .filter((v): v is string => v !== undefined)
    .sort(compareVersions)
    .at(-1);
  if (glibc && target.maxGlibc && compareVersions(glibc, target.maxGlibc) > 0) {
    throw new Error(`${t}: a native piece needs glibc ${glibc}, above the target's ${target.maxGlibc}`);
  }
  return { base, glibc, stripped };
}

/** manifest.json: this build's files merged over the ones a build for other targets left there. */
function writeManifest(outDir: string, files: ManifestFile[], version: string, epoch: number): void {
  const manifestFile = join(outDir, 'manifest.json');
  const previous: ManifestFile[] = existsSync(manifestFile)
    ? ((JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: ManifestFile[] }).files ?? [])
    : [];
  const merged = [...previous.filter((p) => !files.some((f) => f.file === p.file)), ...files].sort((a, b) =>
    a.file.localeCompare(b.file),
  );
  writeFileSync(manifestFile, `${JSON.stringify({ agentVersion: version, files: merged }, null, 2)}\n`);
  utimesSync(manifestFile, epoch, epoch);
}

function agentVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'agent/package.json'), 'utf8')) as { version: string }).version;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      out: { type: 'string' },
      offline: { type: 'boolean', default: false },
      version: { type: 'string' },
      'skip-installers': { type: 'boolean', default: false },
    },
  });
  let files: ManifestFile[];
  let installers: InstallerFile[] = [];
  try {
    files = await buildPackages({
      targets: values.target,
      outDir: values.out,
      offline: values.offline,
      version: values.version,
    });
    if (!values['skip-installers'])
      installers = buildInstallers(values.out ?? join(repoRoot, 'dist/packages'), sourceDateEpoch());
  } catch (err) {
    process.stderr.write(`package: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof InputUnavailable ? 3 : 1);
  }
  for (const f of [...files, ...installers]) {
    const glibc = 'glibc' in f && f.glibc ? `  glibc ${f.glibc}` : '';
    process.stdout.write(`${f.sha256}  ${f.file}  ${(f.size / 1e6).toFixed(1)} MB${glibc}\n`);
  }
}
