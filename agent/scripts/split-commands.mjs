/**
 * The agent is bundled in two halves: the CLI (`dist/cli.js`: commander, flags, version, default paths) and the
 * commands (`dist/commands/index.js`: the runtime and everything heavy). The CLI reaches the commands only through
 * `dist/commands/load.js`; this esbuild plugin replaces that module in the CLI's bundle with `contents`, which loads
 * the second bundle (a file beside it from a checkout, an asset inside the single executable). So `--version` and
 * `--help` parse ~150 KB instead of ~1.2 MB: V8 pre-parses a whole script before running its first line, and that
 * was half of the start time left once nothing heavy ran eagerly (docs/0009-packaging.md, "Footprint").
 */

/** Modules that must never be in the CLI's half: if one is, the split has silently stopped working. */
const HEAVY = [
  /shared[\\/]dist[\\/]index\.js$/,
  /agent[\\/]dist[\\/]runtime[\\/]/,
  /agent[\\/]dist[\\/]connection[\\/]/,
  // TypeBox at all: ~150 KB to parse before `--version` for nothing the CLI needs (the probe names are a plain list).
  /node_modules[\\/].*[\\/](ws|pino|@sinclair[\\/]typebox|@lydell[\\/]node-pty)[\\/]/,
];

/**
 * @param {string} contents the module standing in for `commands/load.js` (exports `loadCommands()`)
 * @param {string} resolveDir where its own imports resolve from
 * @param {string[]} external paths it imports that stay outside the bundle (the second half's file)
 * @returns {import('esbuild').Plugin}
 */
export function commandsLoader(contents, resolveDir, external = []) {
  return {
    name: 'outpost-commands-loader',
    setup(b) {
      b.onLoad({ filter: /agent[\\/]dist[\\/]commands[\\/]load\.js$/ }, () => ({ contents, loader: 'js', resolveDir }));
      for (const path of external) {
        const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        b.onResolve({ filter: new RegExp(`^${escaped}$`) }, (args) => ({ path: args.path, external: true }));
      }
    },
  };
}

/** Throws when the CLI's half (an esbuild metafile with `metafile: true`) holds a module of the commands' half. */
export function checkCliHalf(metafile, label) {
  const heavy = Object.keys(metafile.inputs).filter((i) => HEAVY.some((h) => h.test(i)));
  if (heavy.length)
    throw new Error(`${label}: the CLI bundle pulls in ${heavy.slice(0, 5).join(', ')}: import it lazily (commands/)`);
}
