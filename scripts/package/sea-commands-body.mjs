/**
 * The commands' half of the single executable (agent/scripts/split-commands.mjs): bundled by build.ts into the
 * asset `commands.cjs` and evaluated by sea-commands.mjs at the first command. The native addon loader is exported
 * too, for sea-main.mjs's Windows console-list helper.
 */
export * from '../../agent/dist/commands/index.js';
export { loadNativeAddon } from '../../agent/dist/runtime/native.js';
