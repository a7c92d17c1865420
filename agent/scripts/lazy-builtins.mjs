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
import { builtinModules } from 'node:module';

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
