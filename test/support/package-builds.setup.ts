/**
 * vitest global setup of the `test` project: one directory for the executables the packaging tests share
 * (test/support/package-build.ts), removed when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-package-builds-'));
  project.provide('packageBuilds', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
