/**
 * The audit of terminal resizes: dragging a window edge sends dozens of sizes a second, so the audit log keeps at
 * most one row per session per second (a technician cannot flood it), and the size a burst ends on is written when
 * its second is up (or when the session ends).
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import { actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { LiveShell } from './live.js';
import type { SessionsStore } from './store.js';
import type { OpenRequest } from './types.js';

/** A session's resize audit state: when a row was last written, and the newest size waiting for its turn. */
interface ResizeState {
  at: number;
  pending?: { actor: OpenRequest['actor']; cols: number; rows: number };
  timer?: NodeJS.Timeout;
}

/** What ResizeAudit is built from (one options object, not positional arguments). */
export interface ResizeAuditInit {
  store: SessionsStore;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
}

/** Forwards resizes to the shell and audits them at most once a second per session. */
export class ResizeAudit {
  readonly #state = new WeakMap<LiveShell, ResizeState>();

  private readonly store: SessionsStore;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  constructor(init: ResizeAuditInit) {
    const { store, audit, clock, logger } = init;
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.logger = logger;
  }

  /** Records a resize in the audit log and forwards it. */
  async resize(s: LiveShell, actor: OpenRequest['actor'], cols: number, rows: number): Promise<void> {
    if (s.ended) return;
    s.resize(cols, rows);
    const st = this.#state.get(s) ?? { at: Number.NEGATIVE_INFINITY };
    this.#state.set(s, st);
    const now = this.clock.now();
    if (!st.timer && now - st.at >= 1000) {
      st.at = now;
      await this.#write(s, actor, cols, rows);
      return;
    }
    st.pending = { actor, cols, rows };
    st.timer ??= setTimeout(
      () => {
        st.timer = undefined;
        this.flush(s).catch((err: unknown) =>
          this.logger.warn({ err, sessionId: s.id }, 'session resize not recorded'),
        );
      },
      Math.min(1000, Math.max(0, st.at + 1000 - now)),
    ).unref();
  }

  /** Writes the size still waiting for its audit row, if any (its second is up, or the session ended). */
  async flush(s: LiveShell): Promise<void> {
    const st = this.#state.get(s);
    if (!st?.pending) return;
    clearTimeout(st.timer);
    st.timer = undefined;
    const { actor, cols, rows } = st.pending;
    st.pending = undefined;
    st.at = this.clock.now();
    await this.#write(s, actor, cols, rows);
  }

  async #write(s: LiveShell, actor: OpenRequest['actor'], cols: number, rows: number): Promise<void> {
    const rec = await this.store.get(s.id);
    await this.audit.record({
      type: 'shell.resize',
      code: 'OK',
      result: 'success',
      actor: actorRef(actor),
      clientId: rec?.clientId ?? null,
      agentId: s.agent.agentId,
      sessionId: s.id,
      resource: `session:${s.id}`,
      details: { cols, rows },
    });
  }
}
