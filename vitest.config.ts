import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Workspace packages resolve to their TypeScript sources, so tests run without a build step
// (end-to-end tests that spawn the binaries need `pnpm build` first; `pnpm test` does it).
const alias = {
  '@outpost/shared': here('./shared/src/index.ts'),
  '@outpost/agent': here('./agent/src/index.ts'),
  '@outpost/collector': here('./collector/src/index.ts'),
};

// The packaging tests build executables that embed their own Node (26) whatever Node runs the build, so CI runs them
// once, on Node 20, and sets this for its second (Node 24) run of every other suite.
const skipPackaging = process.env.OUTPOST_SKIP_PACKAGING_TESTS === '1';

export default defineConfig({
  resolve: { alias },
  test: {
    projects: ['shared', 'agent', 'collector', 'test'].map((name) => ({
      resolve: { alias },
      test: {
        name,
        root: here(`./${name}`),
        include: ['**/*.test.ts'],
        exclude: ['**/node_modules/**', '**/dist/**', ...(skipPackaging ? ['package/**'] : [])],
        testTimeout: 30_000,
        hookTimeout: 30_000,
        pool: 'forks',
        // The packaging tests' shared executables (test/support/package-build.ts).
        globalSetup: name === 'test' ? [here('./test/support/package-builds.setup.ts')] : [],
      },
    })),
  },
});
