/**
 * The Linux executables' `memory.node` (scripts/package/memory-release.c, agent/src/runtime/memory-release.ts):
 * compiled here for each Linux target with its GNU toolchain (`<cross>-gcc`: x86_64-linux-gnu, aarch64-linux-gnu)
 * against the target runtime's own `node_api.h`. One C file, so the compiler is called directly. Byte-reproducible:
 * relative source paths, `-ffile-prefix-map` over the work and header directories, no debug info, a content-derived
 * build-id. It compiles in well under a second, so it is not cached.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputUnavailable } from './inputs.js';

const here = fileURLToPath(new URL('./', import.meta.url));

/** The asset's name inside the executable (agent/src/runtime/memory-release.ts's MEMORY_ADDON). */
export const MEMORY_ASSET = 'memory.node';
export const MEMORY_SOURCE = 'memory-release.c';

/** targets.json's `memory`: the GNU toolchain prefix that compiles the addon for the target. */
export interface MemoryCompileSpec {
  cross: string;
}

const FLAGS = [
  '-std=c11',
  '-O2',
  '-fPIC',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-shared',
  '-Wl,-soname=memory.node',
  '-Wl,--build-id=sha1',
];

/** Compiles memory.node into `outDir` (created) for the target whose Node headers are `headersDir`; returns its path. */
export function compileMemoryAddon(spec: MemoryCompileSpec, headersDir: string, outDir: string): string {
  const r = spawnSync(`${spec.cross}-gcc`, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new InputUnavailable(
      `${spec.cross}-gcc is needed to compile ${MEMORY_ASSET} (apt-get install gcc-${spec.cross})`,
    );
  const work = mkdtempSync(join(tmpdir(), 'outpost-memory-'));
  try {
    copyFileSync(join(here, MEMORY_SOURCE), join(work, MEMORY_SOURCE));
    const args = [
      ...FLAGS,
      `-ffile-prefix-map=${work}=.`,
      `-ffile-prefix-map=${headersDir}=node`,
      '-I',
      headersDir,
      '-o',
      MEMORY_ASSET,
      MEMORY_SOURCE,
    ];
    try {
      execFileSync(`${spec.cross}-gcc`, args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    } catch (err) {
      throw new Error(`${MEMORY_SOURCE} did not compile: ${String((err as { stderr?: string }).stderr ?? err)}`);
    }
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, MEMORY_ASSET);
    copyFileSync(join(work, MEMORY_ASSET), out);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
