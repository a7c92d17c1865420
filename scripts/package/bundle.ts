/**
 * The agent's JavaScript for the single executable (scripts/package/build.ts): esbuild bundles the compiled agent
 * in two halves, with the version stamp and the node-pty rewrites a single executable needs. See docs/0009-packaging.md.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const here = fileURLToPath(new URL('./', import.meta.url));

/** The part of esbuild's API used here (esbuild is the agent's dev dependency, resolved from agent/). */
interface EsbuildPluginBuild {
  onResolve(
    o: { filter: RegExp },
    cb: (args: { path: string; importer: string }) => { path: string } | undefined,
  ): void;
  onLoad(
    o: { filter: RegExp },
    cb: (args: { path: string }) => { contents: string; loader: 'js'; resolveDir: string },
  ): void;
}
/** An esbuild plugin as this file writes them. */
interface EsbuildPlugin {
  name: string;
  setup(b: EsbuildPluginBuild): void;
}
type EsbuildBuild = (
  options: Record<string, unknown> & { plugins: EsbuildPlugin[] },
) => Promise<{ errors: unknown[]; metafile?: unknown }>;

/** The asset holding the commands' half: the name scripts/package/sea-commands.mjs reads. */
export const COMMANDS_ASSET = 'commands.cjs';

/** The two files the executable carries (agent/scripts/split-commands.mjs): the CLI (main) and the commands (asset). */
export interface Bundles {
  main: string;
  commands: string;
}

/** `--version X`: the one constant the agent reports (hello, --version) is X; every other byte is the same. */
function versionStamp(version: string | undefined): EsbuildPlugin {
  return {
    name: 'outpost-version',
    setup(b) {
      if (version === undefined) return;
      b.onLoad({ filter: /agent[\\/]dist[\\/]version\.js$/ }, (args) => {
        const src = readFileSync(args.path, 'utf8');
        const from = /export const AGENT_VERSION = '[^']*';/;
        if (!from.test(src))
          throw new Error(`${args.path}: AGENT_VERSION changed shape; update scripts/package/bundle.ts`);
        return {
          contents: src.replace(from, `export const AGENT_VERSION = ${JSON.stringify(version)};`),
          loader: 'js',
          resolveDir: join(args.path, '..'),
        };
      });
    },
  };
}

/** node-pty inside a single executable: its addon from the assets, the files it expects beside it rewritten. */
function seaNative(shim: string): EsbuildPlugin {
  return {
    name: 'outpost-sea-native',
    setup(b) {
      // node-pty's addon loader → the asset loader (agent/src/runtime/native.ts).
      b.onResolve({ filter: /^\.\/requireBinary$/ }, (args) =>
        args.importer.includes('node-pty') ? { path: shim } : undefined,
      );
      // Files node-pty expects beside its modules, which a single executable does not have: macOS's spawn
      // helper comes from the assets; Windows' conout worker runs inline; its console-list helper is the
      // executable itself (scripts/package/sea-main.mjs).
      const rewrites: Record<string, [string, string][]> = {
        'unixTerminal.js': [['require.resolve(helperPath)', `require(${JSON.stringify(shim)}).spawnHelperPath()`]],
        'windowsConoutConnection.js': [
          [
            "new worker_threads_1.Worker(path_1.join(scriptPath, 'worker/conoutSocketWorker.js'), { workerData: workerData })",
            `new worker_threads_1.Worker(require(${JSON.stringify(shim)}).CONOUT_WORKER_SOURCE, { eval: true, workerData: workerData })`,
          ],
        ],
        'windowsPtyAgent.js': [
          [
            "child_process_1.fork(path.join(__dirname, 'conpty_console_list_agent'), [_this._innerPid.toString()])",
            `child_process_1.fork(require(${JSON.stringify(shim)}).CONPTY_LIST_ARG, [_this._innerPid.toString()])`,
          ],
        ],
      };
      b.onLoad({ filter: /node-pty[\\/](unixTerminal|windowsConoutConnection|windowsPtyAgent)\.js$/ }, (args) => {
        let src = readFileSync(args.path, 'utf8');
        const name = args.path.split(/[\\/]/).at(-1) ?? '';
        for (const [from, to] of rewrites[name] ?? []) {
          if (!src.includes(from))
            throw new Error(`${args.path}: \`${from}\` changed; update scripts/package/bundle.ts`);
          src = src.replace(from, to);
        }
        return { contents: src, loader: 'js', resolveDir: join(args.path, '..') };
      });
    },
  };
}

/**
 * Bundles the compiled agent for the executable in two halves: the CLI, an ES module run as the SEA's main, and the
 * commands, CommonJS carried as the asset `commands.cjs` and evaluated at the first command (sea-commands.mjs).
 * node-pty is inside the commands, its addon from assets.
 */
export async function bundle(work: string, version: string | undefined): Promise<Bundles> {
  const agentRequire = createRequire(join(repoRoot, 'agent/package.json'));
  const { build } = (await import(agentRequire.resolve('esbuild'))) as { build: EsbuildBuild };
  const helper = async <T>(file: string) =>
    (await import(pathToFileURL(join(repoRoot, 'agent/scripts', file)).href)) as T;
  // Built-ins through require(), loaded when first needed, and the CLI/commands split: as the checkout's bundle.
  const { lazyBuiltins, lazyCommanderSpawn } = await helper<{
    lazyBuiltins: () => EsbuildPlugin;
    lazyCommanderSpawn: () => EsbuildPlugin;
  }>('lazy-builtins.mjs');
  const { asciiOnly } = await helper<{ asciiOnly: (file: string) => void }>('ascii-only.mjs');
  const { commandsLoader, checkCliHalf } = await helper<{
    commandsLoader: (contents: string, resolveDir: string) => EsbuildPlugin;
    checkCliHalf: (metafile: unknown, label: string) => void;
  }>('split-commands.mjs');
  const shim = join(here, 'pty-binary.mjs');
  const stamp = versionStamp(version);
  const native = seaNative(shim);
  const common = {
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    target: 'node26',
    external: ['bufferutil', 'utf-8-validate'],
    legalComments: 'none',
    logLevel: 'warning',
  };
  const out: Bundles = { main: join(work, 'outpost-agent.mjs'), commands: join(work, COMMANDS_ASSET) };
  // The commands: CommonJS, run by vm.compileFunction with the main module's URL for the one `import.meta.url`
  // (runtime/native.ts's createRequire).
  const commands = await build({
    ...common,
    entryPoints: [join(here, 'sea-commands-body.mjs')],
    outfile: out.commands,
    format: 'cjs',
    define: { 'import.meta.url': '__outpostMainUrl' },
    plugins: [lazyBuiltins(), stamp, native],
  });
  const cli = await build({
    ...common,
    entryPoints: [join(here, 'sea-main.mjs')],
    outfile: out.main,
    format: 'esm',
    metafile: true,
    banner: {
      js: "import { createRequire as __outpostRequire } from 'node:module';\nconst require = __outpostRequire(import.meta.url);",
    },
    plugins: [
      lazyBuiltins(),
      lazyCommanderSpawn(),
      stamp,
      commandsLoader(readFileSync(join(here, 'sea-commands.mjs'), 'utf8'), here),
    ],
  });
  if (commands.errors.length || cli.errors.length) throw new Error('bundle failed');
  checkCliHalf(cli.metafile, 'the executable');
  for (const file of [out.main, out.commands]) {
    asciiOnly(file); // one-byte sources: half the heap the bundles' text holds (agent/scripts/ascii-only.mjs)
    const text = readFileSync(file, 'utf8');
    if (text.includes(repoRoot)) throw new Error(`the bundle embeds the build path ${repoRoot}`);
  }
  // A dynamic import() in the commands' half would fail at run time: a compiled function has no module loader.
  const dynamic = /\bimport\(\s*[^)\s]/.exec(readFileSync(out.commands, 'utf8'));
  if (dynamic) throw new Error(`commands.cjs holds a dynamic import (${dynamic[0]}…); bundle it or require() it`);
  return out;
}
