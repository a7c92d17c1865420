/**
 * The delivery worker: sends due outbox messages, retries failures with capped, jittered exponential backoff, keeps
 * each channel's health, and makes a channel that keeps failing open its own incident (once) and clear it when it
 * delivers again. Delivery is at least once; docs/0005-notifications.md explains the one duplicate window.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { IncidentSink } from '../incidents/index.js';
import type { Senders } from './channels.js';
import type { ChannelRecord, NotificationsStore, OutboxRecord } from './store.js';

/** Timing of the outbox (`notifications.*` in the configuration). */
export interface DeliveryOptions {
  /** How often the worker looks for due messages. */
  pollMs: number;
  /** First retry delay; doubles per failed attempt up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Consecutive failures after which a channel opens its own incident. */
  failureIncidentAfter: number;
  /** Per-send timeout (a claim lasts twice this plus a second, so it always outlives its send). */
  timeoutMs: number;
}

/** What the worker needs from the incidents concern. */
export interface DeliveryDeps {
  /** Where a failing channel raises (and clears) its own incident. */
  incidents: Pick<IncidentSink, 'raise' | 'clear'>;
  /** Writes "notification sent" on the incident's timeline. */
  noteSent?(incidentId: string, data: Record<string, unknown>): Promise<void>;
}

/**
 * The delay before attempt `attempt + 1` after `attempt` failures: base × 2^(attempt−1), capped at `max`, times a
 * jitter factor in [0.8, 1.2) so messages queued together do not retry in lockstep, and never above `max`.
 */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.min(maxMs, Math.round(exp * (0.8 + 0.4 * random())));
}

/** The dedup key of a channel's own incident. */
export const channelIncidentKey = (channelId: string) => `notifications:channel:${channelId}`;

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** What DeliveryWorker is built from (one options object, not positional arguments). */
export interface DeliveryWorkerInit {
  store: NotificationsStore;
  senders: Senders;
  deps: DeliveryDeps;
  clock: Clock;
  logger: Logger;
  options: DeliveryOptions;
  random?: () => number;
}

/** Sends due messages; one pass at a time per worker. */
export class DeliveryWorker {
  /** Sends accepted and attempts failed since start (for /metrics). */
  readonly counters = { sent: 0, failed: 0 };
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<{ sent: number; failed: number }> | undefined;
  #lease: { valid(): boolean } | undefined;

  private readonly store: NotificationsStore;
  private readonly senders: Senders;
  private readonly deps: DeliveryDeps;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: DeliveryOptions;
  private readonly random: () => number;
  constructor(init: DeliveryWorkerInit) {
    const { store, senders, deps, clock, logger, options, random = Math.random } = init;
    this.store = store;
    this.senders = senders;
    this.deps = deps;
    this.clock = clock;
    this.logger = logger;
    this.options = options;
    this.random = random;
  }

  /**
   * Starts polling for due messages. Under a lease (docs/0017-nodes.md, "Leases"), a pass stops before the next send
   * once the lease is no longer surely held: a node that was paused past its lease sends nothing the new holder sends.
   */
  start(lease?: { valid(): boolean }): void {
    if (this.#timer) return;
    this.#lease = lease;
    this.#timer = setInterval(() => {
      this.deliverDue().catch((err: unknown) => this.logger.error({ err }, 'notification delivery pass failed'));
    }, this.options.pollMs);
    this.#timer.unref();
  }

  /** Stops polling and waits for the pass in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pass?.catch(() => undefined);
  }

  /**
   * One pass: every due message, channels in parallel, each channel's messages in order; a channel that fails is left
   * alone for the rest of the pass (a dead endpoint costs one timeout per pass, not one per queued message).
   */
  deliverDue(): Promise<{ sent: number; failed: number }> {
    this.#pass ??= this.#run().finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  async #run(): Promise<{ sent: number; failed: number }> {
    const due = await this.store.due(this.clock.now(), 200);
    const byChannel = new Map<string, OutboxRecord[]>();
    for (const m of due) byChannel.set(m.channelId, [...(byChannel.get(m.channelId) ?? []), m]);
    const counts = { sent: 0, failed: 0 };
    await Promise.all(
      [...byChannel.values()].map(async (rows) => {
        for (const row of rows) {
          if (this.#lease && !this.#lease.valid()) return;
          const r = await this.deliver(row);
          if (r.outcome === 'sent') counts.sent++;
          if (r.outcome === 'failed') {
            counts.failed++;
            return;
          }
        }
      }),
    );
    return counts;
  }

  /** Claims, sends and records one message. `skipped`: claimed elsewhere, delivered or its channel removed. */
  async deliver(row: OutboxRecord): Promise<{ outcome: 'sent' | 'skipped' | 'failed'; error?: string }> {
    const ch = await this.store.channel(row.channelId);
    if (!ch) return { outcome: 'skipped' };
    const token = randomBytes(9).toString('base64url');
    const claimedAt = this.clock.now();
    if (!(await this.store.claim(row.id, token, claimedAt, claimedAt + 2 * this.options.timeoutMs + 1000)))
      return { outcome: 'skipped' };
    try {
      await this.senders.send(ch, row.message);
    } catch (err) {
      this.counters.failed++;
      await this.#failed(ch, row, token, errorText(err));
      return { outcome: 'failed', error: errorText(err) };
    }
    // Marked right after the send: a crash between the two is the only way a message is sent twice.
    this.counters.sent++;
    const at = this.clock.now();
    if (!(await this.store.markDelivered(row.id, token, at)))
      this.logger.warn({ outboxId: row.id, channelId: ch.id }, 'notification claim lapsed during its send');
    await this.store.channelOutcome(ch.id, at, null);
    this.logger.info(
      { outboxId: row.id, channelId: ch.id, event: row.event, incidentId: row.incidentId, attempts: row.attempts + 1 },
      'notification delivered',
    );
    if (await this.store.setIncidentRaised(ch.id, false)) {
      await this.deps.incidents
        .clear(channelIncidentKey(ch.id), at, `Channel ${ch.name} delivered again`)
        .catch((err: unknown) => this.logger.error({ err, channelId: ch.id }, 'could not clear the channel incident'));
    }
    if (row.incidentId && this.deps.noteSent)
      await this.deps
        .noteSent(row.incidentId, {
          channelId: ch.id,
          channel: ch.name,
          kind: ch.kind,
          event: row.event,
          outboxId: row.id,
        })
        .catch((err: unknown) => this.logger.warn({ err, incidentId: row.incidentId }, 'could not note the delivery'));
    return { outcome: 'sent' };
  }

  async #failed(ch: ChannelRecord, row: OutboxRecord, token: string, error: string): Promise<void> {
    const at = this.clock.now();
    const delay = retryDelay(row.attempts + 1, this.options.retryBaseMs, this.options.retryMaxMs, this.random);
    await this.store.markFailed(row.id, token, error, at + delay);
    const health = await this.store.channelOutcome(ch.id, at, error);
    this.logger.warn(
      { outboxId: row.id, channelId: ch.id, attempts: row.attempts + 1, retryInMs: delay, error, ...health },
      'notification delivery failed',
    );
    // A test message carries no incident, hence no client and site to file the channel's incident under; the next
    // failing incident message raises it.
    if (health.consecutiveFailures < this.options.failureIncidentAfter || !row.incidentId) return;
    if (!(await this.store.setIncidentRaised(ch.id, true))) return;
    const target = ch.kind === 'email' ? `SMTP ${String(ch.config.host)}` : new URL(String(ch.config.url)).origin;
    try {
      await this.deps.incidents.raise({
        key: channelIncidentKey(ch.id),
        clientId: row.message.incident.clientId,
        siteId: row.message.incident.siteId,
        agentIds: [],
        source: 'check',
        rule: `notification-channel:${ch.id}`,
        type: 'notification',
        criticality: 'P2',
        tier: 1,
        failureTime: health.failingSince ?? at,
        detectedAt: at,
        title: `Notification channel ${ch.name} (${ch.kind}) is failing`,
        explanation:
          `${health.consecutiveFailures} deliveries in a row to ${target} failed; last error: ${error}. ` +
          'Messages stay queued and are retried until the channel accepts them.',
        context: { channelId: ch.id, kind: ch.kind, target, consecutiveFailures: health.consecutiveFailures },
      });
    } catch (err) {
      await this.store.setIncidentRaised(ch.id, false);
      this.logger.error({ err, channelId: ch.id }, 'could not raise the channel incident');
    }
  }
}
