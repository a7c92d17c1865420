/**
 * What a technician's command loads: the CLI bundle built with the options `pnpm build` uses (from the sources, in
 * memory), walked from its entry through static imports only. Fastify and better-sqlite3 must not be in that
 * graph — they belong to `outpost serve`, which the entry imports on demand (docs/0013, "The CLI's boundary").
 */
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions } from '../../scripts/bundle-options.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
let meta: Metafile;

beforeAll(async () => {
  const r = await build({
    ...bundleOptions(root),
    entryPoints: { outpost: 'src/cli.ts' },
    // The workspace's TypeScript sources, as the tests run them (the real build bundles the compiled `dist/`).
    conditions: ['source'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  meta = r.metafile;
}, 60_000);

/** The outputs loaded with the entry (static imports, transitively), or every output reachable at all. */
function loaded(withDynamic: boolean): { inputs: string[]; externals: string[] } {
  const entry = Object.keys(meta.outputs).find((o) => meta.outputs[o]?.entryPoint === 'src/cli.ts');
  if (!entry) throw new Error('no entry output in the metafile');
  const seen = new Set<string>([entry]);
  const externals = new Set<string>();
  for (const out of seen)
    for (const imp of meta.outputs[out]?.imports ?? []) {
      if (imp.kind === 'dynamic-import' && !withDynamic) continue;
      if (imp.external) externals.add(imp.path);
      else seen.add(imp.path);
    }
  const inputs = [...seen].flatMap((o) => Object.keys(meta.outputs[o]?.inputs ?? {}));
  return { inputs, externals: [...externals] };
}

const server = (p: string) => /node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(fastify|@fastify\/[^/]+)\//.test(p);

describe('the CLI bundle', () => {
  it('loads neither Fastify nor SQLite for a technician command', () => {
    const start = loaded(false);
    expect(start.inputs.some((p) => p.includes('src/cli/commands.ts'))).toBe(true);
    expect(start.inputs.filter(server)).toEqual([]);
    expect(start.externals).not.toContain('better-sqlite3');
    // The database layer and the HTTP server; http/schemas.ts is TypeBox only (the route table's shared schemas).
    expect(start.inputs.filter((p) => /src\/(db\/|http\/(?!schemas\.ts))/.test(p))).toEqual([]);
  });

  it('keeps them for `outpost serve`, behind its on-demand import (so the first check can fail)', () => {
    const all = loaded(true);
    expect(all.inputs.some(server)).toBe(true);
    expect(all.externals).toContain('better-sqlite3');
  });
});
