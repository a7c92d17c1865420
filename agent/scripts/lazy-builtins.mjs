/**
 * esbuild plugin: Node built-ins reach the bundle through `require()`, not `import`.
 *
 * Why: an ES module bundle keeps every `import … from 'node:x'` as a static import, so each built-in any bundled
 * module names is loaded before the first line runs, however lazily that module itself is evaluated. And importing a
 * built-in as an ES module builds its ESM facade, which reads every export: `node:http`'s lazy `WebSocket` getters
 * then load undici (~110 ms of CPU on Node 26, measured with `perf stat`), `node:https` loads TLS. Through
 * `require()` a built-in loads when the module that needs it is first evaluated, and only the exports used are read.
 * The bundle's banner defines `require` (createRequire), which a single executable also gives for built-ins.
 * docs/0009-packaging.md, "Footprint".
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname } from 'node:path';

const builtins = new Set(builtinModules);

/** @returns {import('esbuild').Plugin} */
export function lazyBuiltins() {
  return {
    name: 'outpost-lazy-builtins',
    setup(b) {
      b.onResolve({ filter: /^[a-z_/:]+$/ }, (args) => {
        const bare = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
        // Only imports from ES modules: a CommonJS dependency's require() is already lazy and stays as it is.
        if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return undefined;
        if (!builtins.has(bare) && !builtinModules.includes(args.path)) return undefined;
        return { path: `node:${bare}`, namespace: 'outpost-builtin' };
      });
      b.onLoad({ filter: /.*/, namespace: 'outpost-builtin' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
    },
  };
}

const COMMANDER_CHILD_PROCESS = "const childProcess = require('node:child_process');";

/**
 * esbuild plugin: commander loads `node:child_process` when its module is evaluated, for executable subcommands
 * (`program.command('x', 'description')` running a file `prog-x`), which the agent never declares. Loading it means
 * compiling child_process, dgram and their internals, none of them in Node's start-up snapshot: measured
 * side by side inside the executable, one of the two parts `--version` cost above bare Node's start
 * (docs/0009-packaging.md, "Fourth round"). The rewrite makes it a getter that loads on the first spawn. The build
 * fails if commander's source no longer has the line, or uses child_process for anything but `spawn`.
 *
 * @returns {import('esbuild').Plugin}
 */
export function lazyCommanderSpawn() {
  return {
    name: 'outpost-lazy-commander-spawn',
    setup(b) {
      b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
        const src = readFileSync(args.path, 'utf8');
        const uses = src.match(/childProcess\.\w+/g) ?? [];
        if (!src.includes(COMMANDER_CHILD_PROCESS) || uses.some((u) => u !== 'childProcess.spawn'))
          throw new Error(`${args.path}: commander's use of child_process changed; update lazyCommanderSpawn`);
        const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
        return { contents: src.replace(COMMANDER_CHILD_PROCESS, lazy), loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}
