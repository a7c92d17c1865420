/**
 * The transport under the node bus: subjects, publish, subscribe, request/reply. Two implementations — the
 * in-process one (`LocalTransport`, what a single `outpost serve` uses: no NATS, nothing leaves the process) and the
 * NATS one (`nats-transport.ts`). The bus protocol (commands, presence, invalidation, streams with credits) is written
 * once above this seam, so both run the same code and the same tests (docs/0017-nodes.md).
 */
import { OutpostError } from '@outpost/shared';

/** Called with each message on a subscribed subject; `reply` answers a request (undefined for a plain publish). */
export type TransportHandler = (data: Uint8Array, reply: ((data: Uint8Array) => void) | undefined) => void;

/** What the bus needs from a message transport. */
export interface BusTransport {
  /** Fire-and-forget: delivered to every current subscriber of the subject, in publish order per publisher. */
  publish(subject: string, data: Uint8Array): void;
  /** Subscribes; the returned function unsubscribes. */
  subscribe(subject: string, handler: TransportHandler): () => void;
  /**
   * One request, the first reply. Rejects at once with OUTPOST_E_AGENT_OFFLINE when nobody subscribes to the subject
   * ("no responders"), with OUTPOST_E_BUS_TIMEOUT after `timeoutMs` when a subscriber does not answer.
   */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Resolves once every earlier publish and subscription reached the server (a no-op in process). */
  flush(): Promise<void>;
  /** Stops delivering; pending requests fail. */
  close(): Promise<void>;
}

/** True when a subject matches a subscription that may hold `*` tokens (one token each, as NATS reads them). */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  return p.length === s.length && p.every((t, i) => t === '*' || t === s[i]);
}

/**
 * The in-process transport, delivery on a microtask: exact subjects, and `*` (one token) in a subscription, which the
 * live stream's per-client subjects use; requests go to exact subjects only.
 */
export class LocalTransport implements BusTransport {
  readonly #subs = new Map<string, Set<TransportHandler>>();
  /** Subscriptions with a `*` token. */
  readonly #patterns = new Map<string, Set<TransportHandler>>();
  #closed = false;

  publish(subject: string, data: Uint8Array): void {
    if (this.#closed) return;
    const sets = [this.#subs.get(subject)];
    for (const [pattern, set] of this.#patterns) if (matches(pattern, subject)) sets.push(set);
    // A copy per delivery, as a wire would give: a receiver must not see the sender reuse its buffer.
    for (const handlers of sets) for (const h of handlers ?? []) queueMicrotask(() => h(data.slice(), undefined));
  }

  subscribe(subject: string, handler: TransportHandler): () => void {
    const subs = subject.split('.').includes('*') ? this.#patterns : this.#subs;
    let set = subs.get(subject);
    if (!set) {
      set = new Set();
      subs.set(subject, set);
    }
    set.add(handler);
    return () => {
      const s = subs.get(subject);
      s?.delete(handler);
      if (s?.size === 0) subs.delete(subject);
    };
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const first = this.#subs.get(subject)?.values().next().value;
    if (this.#closed) return Promise.reject(new OutpostError('OUTPOST_E_BUS_UNAVAILABLE'));
    if (!first) return Promise.reject(new OutpostError('OUTPOST_E_AGENT_OFFLINE', { details: { subject } }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new OutpostError('OUTPOST_E_BUS_TIMEOUT', { details: { subject, timeoutMs } })),
        timeoutMs,
      );
      queueMicrotask(() =>
        first(data.slice(), (answer) => {
          clearTimeout(timer);
          resolve(answer.slice());
        }),
      );
    });
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
    this.#subs.clear();
    this.#patterns.clear();
  }
}
