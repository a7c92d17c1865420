import { describe, expect, it } from 'vitest';
import { releaseSchedule } from './memory-release.js';

describe('releaseSchedule', () => {
  it('releases a minute after start, then every ten minutes, unless told otherwise', () => {
    expect(releaseSchedule({})).toEqual({ firstMs: 60_000, everyMs: 600_000 });
    expect(releaseSchedule({ OUTPOST_MEMORY_RELEASE_MS: '1000' })).toEqual({ firstMs: 1000, everyMs: 1000 });
    expect(releaseSchedule({ OUTPOST_MEMORY_RELEASE_MS: '180000' })).toEqual({ firstMs: 60_000, everyMs: 180_000 });
  });

  it('is off when asked; a value it cannot use leaves the default', () => {
    expect(releaseSchedule({ OUTPOST_MEMORY_RELEASE_MS: 'off' })).toBeNull();
    expect(releaseSchedule({ OUTPOST_MEMORY_RELEASE_MS: '5' })).toEqual({ firstMs: 60_000, everyMs: 600_000 });
    expect(releaseSchedule({ OUTPOST_MEMORY_RELEASE_MS: 'soon' })).toEqual({ firstMs: 60_000, everyMs: 600_000 });
  });
});
