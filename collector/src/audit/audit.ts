/** The audit log's public surface: record an event, list events. */
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import { type AuditEvent, type AuditInput, type AuditQuery, AuditStore } from './store.js';

/** Appends audit events (never edits them) and lists them. */
export class AuditLog {
  readonly #store: AuditStore;
  constructor(
    db: SqlDb,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.#store = new AuditStore(db);
  }

  /** Records one event. An audit write failure is logged loudly but never hides the action's own outcome. */
  async record(event: AuditInput): Promise<void> {
    try {
      await this.#store.append(this.clock.now(), event);
    } catch (err) {
      this.logger.error({ err, audit: event }, 'audit log write failed');
      throw err;
    }
  }

  /** Lists events, newest first. */
  list(q: AuditQuery): Promise<AuditEvent[]> {
    return this.#store.list(q);
  }
}
