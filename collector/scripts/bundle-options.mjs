/**
 * The esbuild options of the CLI bundle (`bundle.mjs`), shared with the test that checks what a technician's
 * command loads (collector/src/cli/bundle.test.ts): Fastify and SQLite only in the chunks `outpost serve` imports.
 * @param {string} root the collector package directory
 * @returns {import('esbuild').BuildOptions}
 */
export function bundleOptions(root) {
  return {
    absWorkingDir: root,
    entryPoints: { outpost: 'dist/cli.js' },
    outdir: 'dist/bundle',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    external: ['better-sqlite3', 'bufferutil', 'utf-8-validate'],
    // CommonJS dependencies bundled into an ES module still call require() for built-ins.
    banner: {
      js: "import { createRequire as __outpostRequire } from 'node:module';\nconst require = __outpostRequire(import.meta.url);",
    },
    legalComments: 'none',
    logLevel: 'warning',
  };
}
