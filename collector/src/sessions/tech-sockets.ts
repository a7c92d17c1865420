/**
 * Every open technician socket (writer, joiner, transfer) by the user it belongs to, so a user whose access ended
 * can be cut off at once.
 */
import type { WebSocket } from 'ws';

/** Technician sockets by user id; a socket leaves the set when it closes. */
export class TechSockets {
  readonly #byUser = new Map<string, Set<WebSocket>>();

  /** Follows a socket until it closes. */
  track(userId: string, ws: WebSocket): void {
    const set = this.#byUser.get(userId) ?? new Set<WebSocket>();
    this.#byUser.set(userId, set);
    set.add(ws);
    ws.once('close', () => {
      set.delete(ws);
      if (set.size === 0 && this.#byUser.get(userId) === set) this.#byUser.delete(userId);
    });
  }

  /** The open sockets of a user (undefined when none). */
  of(userId: string): ReadonlySet<WebSocket> | undefined {
    return this.#byUser.get(userId);
  }
}
