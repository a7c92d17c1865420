import { availableParallelism, loadavg } from 'node:os';
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
// worker on CI's 2-core machine, so the ~170 files ran one after the other (the sum of their durations was the wall
// time). A file mostly waits on its child processes, sockets and timers, and uses about one core on average, so two
// workers overlap that on two cores. Not on a machine that other work already saturates (a 1-minute load average
// over cores + 1; our own lint, typecheck and build just before use about one core): there two workers only split
// the same CPU share and push the slowest tests to their 30 s timeout (measured: CONTRIBUTING.md), so it keeps one.
// OUTPOST_TEST_WORKERS sets the count (1 to rule out an interaction between files). CONTRIBUTING.md, "Test suite time".
const cores = availableParallelism();
const busy = loadavg()[0]! > cores + 1;
const workers = Number(process.env.OUTPOST_TEST_WORKERS) || (busy ? 1 : Math.max(2, cores));
if (busy && !process.env.OUTPOST_TEST_WORKERS)
  console.error(`vitest: one worker, the machine is busy (load ${loadavg()[0]!.toFixed(1)} on ${cores} cores)`);

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
          // The run's PostgreSQL cluster and nats-server (test/support/services.setup.ts); the packaging tests'
          // shared executables (test/support/package-build.ts).
          globalSetup: [
            ...(name === 'collector' || name === 'test' ? [here('./test/support/services.setup.ts')] : []),
            ...(name === 'test' ? [here('./test/support/package-builds.setup.ts')] : []),
          ],
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
