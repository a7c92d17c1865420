/**
 * A probe result cache keyed by a fingerprint of the command's inputs (files' size, mtime and inode, and the
 * configuration text), kept in one JSON file in the agent's state directory. A probe uses it for an expensive
 * command whose answer is a pure function of files it can name (apt's upgradable list: ~1 s of CPU to rebuild apt's
 * package cache from the lists, for an answer that changes only after `apt update` or a package change).
 * A missing, unreadable or foreign cache file is a miss; a failed write only costs the next run its speed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FILE = 'inventory-cache.json';

interface CacheFile {
  version: 1;
  entries: Record<string, { fingerprint: string; value: unknown }>;
}

/** size, mtime and inode of each path (and of each entry of each directory), as text to hash; absent paths count. */
export async function statFingerprint(files: readonly string[], dirs: readonly string[]): Promise<string> {
  const one = async (p: string) => {
    try {
      const s = await stat(p);
      return `${p}\t${s.size}\t${s.mtimeMs}\t${s.ino}`;
    } catch {
      return `${p}\t-`;
    }
  };
  const listed = await Promise.all(
    dirs.map(async (d) => {
      try {
        return [d, ...(await readdir(d)).sort().map((n) => join(d, n))];
      } catch {
        return [d];
      }
    }),
  );
  const lines = await Promise.all([...files, ...listed.flat()].map(one));
  return lines.join('\n');
}

/** A fingerprint from its parts (sha256, base64url). */
export function fingerprintOf(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\u0000');
  return h.digest('base64url');
}

async function load(dir: string): Promise<CacheFile> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, FILE), 'utf8')) as CacheFile;
    if (parsed?.version === 1 && parsed.entries && typeof parsed.entries === 'object') return parsed;
  } catch {
    // absent or unreadable: an empty cache
  }
  return { version: 1, entries: {} };
}

/**
 * The cached value for `key` when its fingerprint matches, else `compute()`'s (then stored). `validate` checks what
 * comes back from disk (a damaged or hand-edited file must never produce rows the probe would not).
 */
export async function cachedByFingerprint<T>(
  dir: string | undefined,
  key: string,
  fingerprint: string,
  validate: (v: unknown) => v is T,
  compute: () => Promise<T>,
): Promise<T> {
  if (!dir) return compute();
  const cache = await load(dir);
  const hit = cache.entries[key];
  if (hit && hit.fingerprint === fingerprint && validate(hit.value)) return hit.value;
  const value = await compute();
  // Re-read so concurrent probes writing other keys are not undone, then replace atomically.
  const fresh = await load(dir);
  fresh.entries[key] = { fingerprint, value };
  const tmp = join(dir, `${FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(fresh), { mode: 0o600 });
    await rename(tmp, join(dir, FILE));
  } catch {
    // State dir not writable (a CLI run as another user): the value is still right, only not remembered.
    await unlink(tmp).catch(() => undefined);
  }
  return value;
}
