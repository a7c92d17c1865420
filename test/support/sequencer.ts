/**
 * The order in which vitest hands test files to its workers: the slowest first, so that the last minutes of a run
 * are not one long file running alone while the other workers idle (a 100 s file started last makes the run 100 s
 * longer on two workers; started first, it runs beside thirty short ones).
 *
 * vitest's own order (BaseSequencer) puts files it has timed before (node_modules/.vite) longest first, and files it
 * has never seen by size; a fresh clone (CI) has no timings, so the file sizes decide, and size says little about
 * time (the 98 s rollout test is 279 lines, a 700-line unit test runs in 1 s). SLOW_FILES carries the timings of a
 * CI run instead: files listed there go first, longest first; the rest keep vitest's order. A stale figure only
 * reorders the run, it never skips or changes a test. Refresh it from a run's output (CONTRIBUTING.md, "Test suite
 * time").
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds per file (vitest's per-file duration), from CI's Node 20 run of 2026-12-04 on the 2-core machine, files
 * over ~5 s. Keys are `project:path under the project`.
 */
export const SLOW_FILES: Readonly<Record<string, number>> = {
  'test:package/rollout.test.ts': 98,
  'test:e2e/cluster.test.ts': 80, // not yet timed by CI: 78–93 s here at load 10–31, 121 s beside a typecheck (three nodes, 91 agents)
  'test:package/arm64-qemu.test.ts': 70, // not yet timed by CI: 116 s here at load 17 on 2 cores, build shared
  'test:package/update.test.ts': 64,
  'test:package/systemd-install.test.ts': 43,
  'test:package/cross-targets.test.ts': 34,
  'test:package/collector-service.test.ts': 29,
  'test:console/pages.test.ts': 24,
  'test:security/cli-bad-input.test.ts': 23,
  'test:console/actions.test.ts': 23,
  'test:console/console.test.ts': 20,
  'test:e2e/jobs.test.ts': 18,
  'test:security/login-throttle.test.ts': 17,
  'test:security/files-race.test.ts': 15,
  'test:package/agent-executable.test.ts': 15,
  'test:package/pty-compile.test.ts': 15, // not yet timed by CI: 47 s here at load 16 (three compilations, ~4 s CPU each)
  'test:package/service-host-wine.test.ts': 15,
  'test:e2e/shell-terminal.test.ts': 14,
  'test:e2e/shell.test.ts': 14,
  'test:security/api-fuzz.test.ts': 13,
  'test:security/credentials.test.ts': 12,
  'test:e2e/hint-commands.test.ts': 12,
  'test:security/protocol-fuzz.test.ts': 11,
  'test:package/collector-cross.test.ts': 11,
  'test:package/collector-executable.test.ts': 10,
  'test:package/installers.test.ts': 10,
  'test:e2e/shell-limits.test.ts': 10,
  'test:e2e/policies.test.ts': 9,
  'test:e2e/detection.test.ts': 9,
  'test:e2e/notifications-restart.test.ts': 9,
  'test:e2e/sessions-outcome.test.ts': 8,
  'test:e2e/inventory.test.ts': 8,
  'test:e2e/presence.test.ts': 8,
  'test:e2e/enroll-cli.test.ts': 7,
  'test:security/cli-credentials.test.ts': 7,
  'test:e2e/stream.test.ts': 7,
  'test:e2e/jobs-tags.test.ts': 7,
  'test:security/shell.test.ts': 6,
  'test:e2e/files.test.ts': 6,
  'test:e2e/requests-agent.test.ts': 6,
  'test:security/cli-bad-input-live.test.ts': 6,
  'test:security/tenant-census.test.ts': 6,
  'test:security/agent-flood.test.ts': 6,
  'agent:src/inventory/linux.test.ts': 6,
  'test:e2e/cli-first-hour.test.ts': 6,
  'test:e2e/release-root-pin.test.ts': 6,
  'collector:src/sessions/keepalive.test.ts': 5,
};

/** A file's key in SLOW_FILES: its project's name and its path under the project's root. */
export function slowKey(spec: TestSpecification): string {
  return `${spec.project.name}:${relative(spec.project.config.root, spec.moduleId).split('\\').join('/')}`;
}

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const seconds = (s: TestSpecification) => SLOW_FILES[slowKey(s)] ?? 0;
    // Array.prototype.sort is stable: unlisted files (0 s) keep vitest's order among themselves.
    return [...base].sort((a, b) => seconds(b) - seconds(a));
  }
}
