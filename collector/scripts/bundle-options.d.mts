import type { BuildOptions } from 'esbuild';

/** The esbuild options of the CLI bundle, for `root` (the collector package directory). */
export function bundleOptions(root: string): BuildOptions;
