/**
 * The handoff from incidents to notifications. A ticket change writes its notices into `incident_notices` in the
 * ticket's own transaction (store.commit); this drain hands them to the bound notifier in order and marks them handed
 * off. A crash between the commit and the handoff only delays a notice: the next pass (at start, after every write, on
 * a timer) hands it again, and the notifier is idempotent per notice id, so it is queued once. Internal to the concern.
 */
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { IncidentNotice, IncidentNotifier, NoticeEvent } from './core.js';
import type { IncidentsStore } from './store.js';

/** First retry after a failed handoff, doubling up to the maximum. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;
const BATCH = 200;

/** Hands pending notices to the notifier; one pass at a time. */
export class NoticeDrain {
  notifier: IncidentNotifier | undefined;
  #chain: Promise<number> = Promise.resolve(0);
  #queued = false;
  #timer: NodeJS.Timeout | undefined;
  readonly counters = { handedOff: 0, failed: 0 };

  constructor(
    private readonly store: IncidentsStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs a pass after the one in progress (so a notice committed just before the call is seen); calls made while a
   * pass is already queued share it. Resolves with the number of notices handed off by that pass.
   */
  drain(): Promise<number> {
    if (this.#queued) return this.#chain;
    this.#queued = true;
    this.#chain = this.#chain.then(() => {
      this.#queued = false;
      return this.#pass().catch((err: unknown) => {
        this.logger.error({ err }, 'incident notice handoff pass failed');
        return 0;
      });
    });
    return this.#chain;
  }

  async #pass(): Promise<number> {
    const notifier = this.notifier;
    // Nobody to hand to yet: notices wait in the table.
    if (!notifier) return 0;
    let handed = 0;
    // An incident whose earliest pending notice cannot go now holds back its later ones: order is kept per incident.
    const held = new Set<string>();
    for (let after = 0; ; ) {
      const batch = await this.store.pendingNotices(after, BATCH);
      if (batch.length === 0) return handed;
      for (const n of batch) {
        after = n.seq;
        const incidentId = n.incident.id;
        if (held.has(incidentId)) continue;
        const now = this.clock.now();
        if (n.nextAttemptAt > now) {
          held.add(incidentId);
          continue;
        }
        const notice: IncidentNotice = {
          id: n.id,
          event: n.event as NoticeEvent,
          at: n.at,
          incident: n.incident,
          detail: n.detail,
        };
        try {
          await notifier.notify(notice);
        } catch (err) {
          held.add(incidentId);
          this.counters.failed++;
          const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(n.attempts, 16));
          await this.store.markNoticeFailed(n.seq, err instanceof Error ? err.message : String(err), now + delay);
          this.logger.error(
            { err, incidentId, noticeId: n.id, event: n.event, retryInMs: delay },
            'could not hand the incident notice to notifications; will retry',
          );
          continue;
        }
        await this.store.markHandedOff(n.seq, this.clock.now());
        this.counters.handedOff++;
        handed++;
      }
      if (batch.length < BATCH) return handed;
    }
  }

  /** Hands off what a previous run left, then again every `intervalMs` (retries after backoff). */
  start(intervalMs: number): void {
    void this.drain();
    this.#timer = setInterval(() => void this.drain(), intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for the pass in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#chain;
  }
}
