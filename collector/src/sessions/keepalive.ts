/**
 * Keep-alive for technician sockets. A technician whose network vanishes (a laptop closed, Wi-Fi lost) sends no
 * FIN: without pings the collector would learn of it only from the idle timeout (30 minutes by default) or TCP's
 * own retransmission timeout, and the session's processes would run on that long. Every round pings each socket; a
 * socket that has not answered the previous round's ping is reported dead. Every WebSocket client answers pings by
 * itself (`ws`, browsers), so a live technician costs nothing but the ping.
 */
import type { WebSocket } from 'ws';

export class KeepAlive {
  /** Sockets pinged in the last round whose pong has not arrived. */
  readonly #waiting = new WeakSet<WebSocket>();
  readonly #watched = new WeakSet<WebSocket>();

  /** One round over `sockets`: returns those that missed the previous ping, and pings the others. */
  round(sockets: Iterable<WebSocket>): WebSocket[] {
    const dead: WebSocket[] = [];
    for (const ws of sockets) {
      if (ws.readyState !== ws.OPEN) continue;
      if (!this.#watched.has(ws)) {
        this.#watched.add(ws);
        ws.on('pong', () => this.#waiting.delete(ws));
      }
      if (this.#waiting.has(ws)) {
        dead.push(ws);
        continue;
      }
      this.#waiting.add(ws);
      ws.ping();
    }
    return dead;
  }
}
