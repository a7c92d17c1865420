/**
 * Gives back, now and then, the memory the idle agent holds only because it was touched once: the packaged
 * executable's read-only pages (its code, V8's start-up snapshot, ICU's data, the bundles) paged out with
 * madvise(MADV_PAGEOUT), and malloc's free memory returned with malloc_trim, by the tiny addon `memory.node`
 * (scripts/package/memory-release.c) the Linux executables carry. Idle RSS, measured side by side, in
 * docs/0009-packaging.md ("Footprint"). What the agent uses again faults back in from the executable; only its
 * working set stays resident.
 *
 * Linux single executables only: elsewhere (a checkout, macOS, Windows) there is no addon and this does nothing.
 * `OUTPOST_MEMORY_RELEASE_MS` sets the interval (tests and measurements; `off` turns it off).
 */
import type { Logger } from 'pino';
import { hasNativeAsset, loadNativeAddon } from './native.js';

export const MEMORY_ADDON = 'memory.node';

/** After the first metrics and inventory rounds of a start have run. */
const FIRST_RELEASE_MS = 60_000;
/** Pages an inventory round or a shell touched are given back within this; a page the agent keeps using refaults once. */
const RELEASE_INTERVAL_MS = 10 * 60_000;

/** What one release did: mappings advised and their size, the first refusal's errno, whether malloc gave any back. */
export interface ReleaseOutcome {
  mappings: number;
  bytes: number;
  error: number;
  trimmed: number;
}

interface MemoryAddon {
  release(): ReleaseOutcome;
}

/** The delay and interval: the interval from the environment when usable (the first release no later); null when off. */
export function releaseSchedule(env: NodeJS.ProcessEnv = process.env): { firstMs: number; everyMs: number } | null {
  const v = env.OUTPOST_MEMORY_RELEASE_MS;
  if (v === 'off') return null;
  const ms = Number(v);
  if (v && Number.isInteger(ms) && ms >= 100) return { firstMs: Math.min(FIRST_RELEASE_MS, ms), everyMs: ms };
  return { firstMs: FIRST_RELEASE_MS, everyMs: RELEASE_INTERVAL_MS };
}

/**
 * Starts releasing memory on schedule; returns the function that stops it. A no-op where there is no addon; the
 * addon is extracted and loaded at the first release, and one that cannot load stops only this.
 */
export function scheduleMemoryRelease(logger: Logger): () => void {
  const schedule = releaseSchedule();
  if (!schedule || process.platform !== 'linux' || !hasNativeAsset(MEMORY_ADDON)) return () => undefined;
  let addon: MemoryAddon | undefined;
  let timer: NodeJS.Timeout;
  let first = true;
  const run = () => {
    try {
      addon ??= loadNativeAddon(MEMORY_ADDON) as MemoryAddon;
    } catch (err) {
      logger.warn({ err }, 'memory addon unavailable; start-up pages stay resident');
      return;
    }
    const before = process.memoryUsage.rss();
    const outcome = addon.release();
    const after = process.memoryUsage.rss();
    logger[first ? 'info' : 'debug']({ ...outcome, rssBefore: before, rssAfter: after }, 'memory released');
    first = false;
    // EINVAL: a kernel before 5.4 has no MADV_PAGEOUT; nothing will change, so stop asking.
    const again = outcome.error !== 22;
    if (outcome.error !== 0)
      logger.info({ errno: outcome.error, again }, 'the kernel refused to page out the executable');
    if (again) timer = setTimeout(run, schedule.everyMs).unref();
  };
  timer = setTimeout(run, schedule.firstMs).unref();
  return () => clearTimeout(timer);
}
