/**
 * Inside the single executable this module is `agent/dist/commands/load.js` (build.ts swaps it in): the command
 * implementations are a second bundle carried as the asset `commands.cjs`, compiled and run at the first command,
 * so `--version` and `--help` never parse them (agent/scripts/split-commands.mjs says why). A single executable's
 * `require` loads only built-ins, and the commands' half needs nothing else: build.ts bundles everything into it and
 * refuses a dynamic `import()` left in it (a compiled function has no module loader to serve one).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export const COMMANDS_ASSET = 'commands.cjs';

let commands;

/** The command implementations, evaluated once. */
export function loadCommands() {
  if (!commands) {
    const require = createRequire(import.meta.url);
    const { getAsset } = require('node:sea');
    const { compileFunction } = require('node:vm');
    const module = { exports: {} };
    const params = ['exports', 'require', 'module', '__filename', '__dirname', '__outpostMainUrl'];
    const run = compileFunction(getAsset(COMMANDS_ASSET, 'utf8'), params, {
      filename: `outpost-agent/${COMMANDS_ASSET}`,
    });
    run(module.exports, require, module, process.execPath, dirname(process.execPath), import.meta.url);
    commands = module.exports;
  }
  return Promise.resolve(commands);
}
