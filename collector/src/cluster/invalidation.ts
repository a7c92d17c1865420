/**
 * A cache that other nodes can invalidate: a node that revokes an agent, changes a policy or a user's permissions
 * publishes an invalidation, and every node drops its cached entry (or all entries of the kind, key `*`), so the next
 * read goes to the database, the source of truth. Nothing is ever pushed as a value: a lost invalidation could leave
 * a stale value, so entries also expire after `ttlMs` (the bound on staleness if the bus drops one).
 */
import type { Clock } from '../config.js';
import type { InvalidationKind } from './wire.js';

/** Where invalidations come from (the node bus). */
export interface InvalidationSource {
  onInvalidation(kind: InvalidationKind, fn: (key: string) => void): () => void;
}

/** A read-through cache of one kind, dropped on invalidation from any node. */
export class InvalidatedCache<V> {
  readonly #entries = new Map<string, { value: V; at: number }>();
  readonly #unsubscribe: () => void;
  readonly counters = { hits: 0, misses: 0, invalidated: 0 };

  constructor(
    readonly kind: InvalidationKind,
    source: InvalidationSource,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {
    this.#unsubscribe = source.onInvalidation(kind, (key) => this.drop(key));
  }

  /** The cached value, or what `load` reads (then cached). */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const e = this.#entries.get(key);
    if (e && this.clock.now() - e.at < this.ttlMs) {
      this.counters.hits++;
      return e.value;
    }
    this.counters.misses++;
    const value = await load();
    this.#entries.set(key, { value, at: this.clock.now() });
    return value;
  }

  /** True when an entry is cached (and fresh). */
  has(key: string): boolean {
    const e = this.#entries.get(key);
    return e !== undefined && this.clock.now() - e.at < this.ttlMs;
  }

  /** Drops one entry, or every entry for `*`. */
  drop(key: string): void {
    this.counters.invalidated++;
    if (key === '*') this.#entries.clear();
    else this.#entries.delete(key);
  }

  /** Stops listening. */
  close(): void {
    this.#unsubscribe();
    this.#entries.clear();
  }
}
