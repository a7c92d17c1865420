/**
 * Bundles the compiled collector and CLI (`dist/cli.js` and every JavaScript dependency) into `dist/bundle/`: what
 * `bin/outpost.js` runs. A technician's command resolved and loaded ~450 modules one by one (TypeBox alone is ~250
 * files) before doing anything; one entry file plus chunks starts with about a third of the CPU. Code splitting keeps
 * `outpost serve` (Fastify and every concern) in chunks that other commands never load.
 * The bundle sits two directories below `collector/`, like every compiled module, so the paths modules compute from
 * their own URL (the console's files, the installers) resolve the same. better-sqlite3 stays outside (native).
 */
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const root = new URL('..', import.meta.url).pathname;
// Chunk names change with their content: stale ones from an earlier build would only pile up.
rmSync(new URL('../dist/bundle', import.meta.url), { recursive: true, force: true });

await build(bundleOptions(root));
