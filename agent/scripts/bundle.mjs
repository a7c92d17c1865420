/**
 * Bundles the compiled agent and every JavaScript dependency into two ES modules (split-commands.mjs says why):
 * `dist/outpost-agent.mjs`, the CLI, which `bin/outpost-agent.js` runs, and `dist/outpost-agent-commands.mjs`, the
 * commands, imported by the CLI when a command runs. One file per half starts ~2× faster than resolving and loading
 * ~600 modules one by one (an inventory run is mostly start-up). The single executable is bundled the same way by
 * scripts/package/build.ts. Native and optional modules stay outside: node-pty's addon is loaded from node_modules
 * (an executable ships it as an asset), and ws falls back to JavaScript without bufferutil/utf-8-validate.
 */
import { build } from 'esbuild';
import { asciiOnly } from './ascii-only.mjs';
import { lazyBuiltins, lazyCommanderSpawn } from './lazy-builtins.mjs';
import { checkCliHalf, commandsLoader } from './split-commands.mjs';

const root = new URL('..', import.meta.url).pathname;
const COMMANDS = './outpost-agent-commands.mjs';

const common = {
  absWorkingDir: root,
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
};

await build({
  ...common,
  entryPoints: ['dist/commands/index.js'],
  outfile: 'dist/outpost-agent-commands.mjs',
  plugins: [lazyBuiltins()],
});
const cli = await build({
  ...common,
  entryPoints: ['dist/cli.js'],
  outfile: 'dist/outpost-agent.mjs',
  metafile: true,
  plugins: [
    lazyBuiltins(),
    lazyCommanderSpawn(),
    commandsLoader(`export function loadCommands() { return import(${JSON.stringify(COMMANDS)}); }`, root, [COMMANDS]),
  ],
});
checkCliHalf(cli.metafile, 'dist/outpost-agent.mjs');
// One-byte sources: half the heap the two halves' text holds (ascii-only.mjs).
for (const f of ['dist/outpost-agent.mjs', 'dist/outpost-agent-commands.mjs']) asciiOnly(`${root}${f}`);
