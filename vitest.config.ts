import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/support/sequencer.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Workspace packages resolve to their TypeScript sources, so tests run without a build step
// (end-to-end tests that spawn the binaries need `pnpm build` first; `pnpm test` does it).
// Exact names (a plain key would also rewrite a subpath: `@outpost/shared/errors` → `…/index.ts/errors`); shared's
// subpath exports (package.json `exports`) map to their source files.
const alias = [
  { find: /^@outpost\/shared$/, replacement: here('./shared/src/index.ts') },
  { find: /^@outpost\/shared\/(.+)$/, replacement: `${here('./shared/src/')}$1.ts` },
  { find: /^@outpost\/agent$/, replacement: here('./agent/src/index.ts') },
  { find: /^@outpost\/collector$/, replacement: here('./collector/src/index.ts') },
];

// The packaging tests build executables that embed their own Node (26) whatever Node runs the build, so CI runs them
// once, on Node 20, and sets this for its second (Node 24) run of every other suite.
const skipPackaging = process.env.OUTPOST_SKIP_PACKAGING_TESTS === '1';

// Forked workers for the whole run (every project shares one pool). vitest's default in `run` mode is cores - 1: ONE
// worker on CI's 2-core machine, so the ~160 files ran one after the other (the sum of their durations was the wall
// time). Most of a file's time is spent waiting on child processes, sockets and timers, not on the CPU, so at least
// two workers run even on two cores; OUTPOST_TEST_WORKERS overrides it (1 to debug an interaction between files).
// Figures: CONTRIBUTING.md, "Test suite time".
const workers = Number(process.env.OUTPOST_TEST_WORKERS) || Math.max(2, availableParallelism());

// Files that rebuild the checkout while they run: `pnpm demo` is `pnpm build && …`, and the build rewrites the agent
// and collector bundles and empties console/dist before writing it again, under the feet of any test that starts
// `outpost`, `outpost-agent` or serves the console meanwhile. They form their own project (`test-alone`), run as a
// group of their own before every other file (sequence.groupOrder), so nothing runs beside them.
const REBUILDS_DIST = ['e2e/demo.test.ts'];

const common = { testTimeout: 30_000, hookTimeout: 30_000, pool: 'forks' } as const;

export default defineConfig({
  resolve: { alias },
  test: {
    maxWorkers: workers,
    minWorkers: 1,
    // The slowest files first (test/support/sequencer.ts), so that no long file starts last and runs alone.
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      ...['shared', 'agent', 'collector', 'test'].map((name) => ({
        resolve: { alias },
        test: {
          name,
          root: here(`./${name}`),
          include: ['**/*.test.ts'],
          exclude: [
            '**/node_modules/**',
            '**/dist/**',
            ...(skipPackaging ? ['package/**'] : []),
            ...(name === 'test' ? REBUILDS_DIST : []),
          ],
          ...common,
          sequence: { groupOrder: 1 },
          // The packaging tests' shared executables (test/support/package-build.ts).
          globalSetup: name === 'test' ? [here('./test/support/package-builds.setup.ts')] : [],
        },
      })),
      {
        resolve: { alias },
        test: {
          name: 'test-alone',
          root: here('./test'),
          include: REBUILDS_DIST,
          ...common,
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
});
