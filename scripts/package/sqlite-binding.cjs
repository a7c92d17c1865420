/**
 * Stands in for the `bindings` package inside the collector's single executable (the esbuild plugin in collector.ts
 * redirects better-sqlite3's `require('bindings')` here): the addon comes from the executable's assets, extracted to a
 * cache keyed by its SHA-256 and verified before it is loaded, by the agent's loader (agent/src/runtime/native.ts).
 */
const { loadNativeAddon } = require('../../agent/dist/runtime/native.js');

module.exports = function bindings(name) {
  return loadNativeAddon(name);
};
