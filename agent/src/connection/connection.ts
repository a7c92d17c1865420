/**
 * The agent's connection as an explicit state machine:
 *   connecting → ready → (closed) → backing_off → connecting …   and → stopped from any state.
 * Every transition is logged. Backoff is full-jitter, capped and exponential; a collector "try again later" close
 * (OUTPOST_E_UNAVAILABLE with retry_after) is honoured; identity refusals (unknown, revoked, bad signature) back off
 * at the cap instead of hammering the collector.
 */
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { sleep, systemClock } from '../time.js';
import { type BackoffOptions, backoffDelay, retryAfterMs } from './backoff.js';
import { type CloseInfo, type DialOptions, dial, type Session } from './dial.js';

/** Connection states. */
export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'backing_off' | 'stopped';

/** What the state machine reports to its owner. */
export interface ConnectionEvents {
  /** A session is authenticated; resolve when done with it (the manager also watches it close). */
  onSession(session: Session): void;
  onState?(state: ConnectionState, detail: { error?: OutpostError | undefined; delayMs?: number }): void;
}

const IDENTITY_REFUSALS = new Set([
  'OUTPOST_E_AGENT_UNKNOWN',
  'OUTPOST_E_AGENT_REVOKED',
  'OUTPOST_E_SIGNATURE_INVALID',
  'OUTPOST_E_TLS_PIN_MISMATCH',
]);

/** What ConnectionManager is built from (one options object, not positional arguments). */
export interface ConnectionManagerInit {
  dialOptions: Omit<DialOptions, 'logger'>;
  events: ConnectionEvents;
  logger: Logger;
  backoff: BackoffOptions & {
    /** A session that lasted this long resets the attempt count. */ stableMs?: number;
  };
  dialer?: (o: DialOptions) => Promise<Session>;
}

/** Keeps one authenticated session to the collector alive for as long as the agent runs. */
export class ConnectionManager {
  #state: ConnectionState = 'idle';
  #stop = new AbortController();
  #session: Session | undefined;
  #loop: Promise<void> | undefined;
  attempt = 0;

  private readonly dialOptions: Omit<DialOptions, 'logger'>;
  private readonly events: ConnectionEvents;
  private readonly logger: Logger;
  private readonly backoff: BackoffOptions & {
    /** A session that lasted this long resets the attempt count. */ stableMs?: number;
  };
  private readonly dialer: (o: DialOptions) => Promise<Session>;
  constructor(init: ConnectionManagerInit) {
    const { dialOptions, events, logger, backoff, dialer = dial } = init;
    this.dialOptions = dialOptions;
    this.events = events;
    this.logger = logger;
    this.backoff = backoff;
    this.dialer = dialer;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  #to(state: ConnectionState, detail: { error?: OutpostError | undefined; delayMs?: number } = {}): void {
    const from = this.#state;
    this.#state = state;
    this.logger.info(
      {
        from,
        to: state,
        attempt: this.attempt,
        code: detail.error?.code,
        reason: detail.error?.message,
        delayMs: detail.delayMs,
      },
      'connection state',
    );
    this.events.onState?.(state, detail);
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      this.#to('connecting');
      let error: OutpostError | undefined;
      let close: CloseInfo | undefined;
      try {
        const session = await this.dialer({ ...this.dialOptions, logger: this.logger });
        if (this.#stop.signal.aborted) {
          session.close();
          break;
        }
        this.#session = session;
        const clock = this.dialOptions.clock ?? systemClock;
        const since = clock.now();
        this.#to('ready');
        this.events.onSession(session);
        close = await session.closed;
        this.#session = undefined;
        error = close.error;
        if (clock.now() - since >= (this.backoff.stableMs ?? 30_000)) this.attempt = 0;
      } catch (err) {
        error = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
      }
      if (this.#stop.signal.aborted) break;
      let delayMs = backoffDelay(this.attempt++, this.backoff);
      const retryAfter = close
        ? retryAfterMs(close.reason)
        : error
          ? retryAfterMs(String(error.details?.reason ?? ''))
          : undefined;
      if (retryAfter !== undefined)
        delayMs = Math.max(
          delayMs,
          retryAfter + backoffDelay(0, { ...this.backoff, baseMs: Math.max(1, retryAfter / 2) }),
        );
      if (error && IDENTITY_REFUSALS.has(error.code)) {
        delayMs = this.backoff.capMs;
        this.logger.error({ code: error.code, hint: error.hint }, 'the collector refused this agent identity');
      }
      this.#to('backing_off', { error, delayMs });
      await sleep(delayMs, this.#stop.signal);
    }
    this.#to('stopped');
  }

  /** Stops: closes the live session and ends the loop. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#session?.close();
    await this.#loop;
    if (!this.#loop) this.#to('stopped');
  }
}
