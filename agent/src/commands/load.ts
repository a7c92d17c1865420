/**
 * The one door from cli.ts to the command implementations (index.ts). From a checkout it is a dynamic import; the
 * single executable's build replaces this module with one that evaluates the commands from an asset inside the
 * executable (scripts/package/sea-commands.mjs), so `--version` and `--help` never parse them.
 */
export type Commands = typeof import('./index.js');

/** The command implementations, loaded on first call. */
export function loadCommands(): Promise<Commands> {
  return import('./index.js');
}
