/**
 * The run order's table of slow files (test/support/sequencer.ts) names files that exist: a renamed or moved file
 * would silently fall back to vitest's order and could start last again, making the whole run that much longer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/collector.js';
import { SLOW_FILES } from '../support/sequencer.js';

describe('slow files first', () => {
  it('every file in the slow-files table exists under its project', () => {
    const missing = Object.keys(SLOW_FILES).filter((key) => {
      const [project, path] = key.split(':') as [string, string];
      return !existsSync(join(repoRoot, project, path));
    });
    expect(missing).toEqual([]);
  });

  it('the table is kept longest first, so a reader sees at once what the run waits for', () => {
    const seconds = Object.values(SLOW_FILES);
    expect(seconds).toEqual([...seconds].sort((a, b) => b - a));
    expect(seconds.every((s) => s > 0)).toBe(true);
  });
});
