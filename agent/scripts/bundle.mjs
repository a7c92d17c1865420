/**
 * Bundles the compiled agent (`dist/cli.js` and every JavaScript dependency) into one ES module,
 * `dist/outpost-agent.mjs`: what `bin/outpost-agent.js` runs and what a single executable embeds. One file starts
 * ~2× faster than resolving and loading ~600 modules one by one (an inventory run is mostly start-up).
 * Native and optional modules stay outside: node-pty's addon is loaded from node_modules (an executable ships it as an
 * asset), and ws falls back to JavaScript without bufferutil/utf-8-validate.
 */
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;

await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli.js'],
  outfile: 'dist/outpost-agent.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  external: ['@lydell/node-pty', 'bufferutil', 'utf-8-validate'],
  // CommonJS dependencies bundled into an ES module still call require() for built-ins.
  banner: {
    js: "import { createRequire as __outpostRequire } from 'node:module';\nconst require = __outpostRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
