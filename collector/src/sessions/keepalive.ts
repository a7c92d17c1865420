/**
 * Liveness of technician sockets, for the keep-alive on both ends (the collector pinging technicians, the CLI pinging
 * the collector). A peer whose network vanished (a laptop closed, Wi-Fi lost) sends no FIN: without pings the
 * collector would learn of it only from the idle timeout (30 minutes by default), and a CLI would wait forever.
 *
 * Any frame, ping or pong counts as a sign of life, so a busy socket whose pong waits behind a window of output on a
 * slow link is not taken for dead; a socket is dead after more than two rounds of silence. The verdict is given in
 * the check phase (setImmediate), after the loop's I/O phase: when the event loop stalls, overdue timers run before
 * pending socket reads, and an answer that has already arrived must count.
 */
import type { WebSocket } from 'ws';

const heard = new WeakMap<WebSocket, number>();
const followed = new WeakSet<WebSocket>();

/** Records that `ws` was heard from now, and from then on hears every frame, ping or pong from it. */
export function heardNow(ws: WebSocket): void {
  heard.set(ws, performance.now());
  if (followed.has(ws)) return;
  followed.add(ws);
  const alive = () => heard.set(ws, performance.now());
  ws.on('message', alive);
  ws.on('ping', alive);
  ws.on('pong', alive);
}

/**
 * One round over `sockets`: pings each open one, then (after pending reads) calls `onDead` for each that has been
 * silent for more than two rounds of `everyMs`.
 */
export function keepAliveRound(sockets: WebSocket[], everyMs: number, onDead: (ws: WebSocket) => void): void {
  const open = sockets.filter((ws) => ws.readyState === ws.OPEN);
  for (const ws of open) {
    // First seen now: the silence is counted from here.
    if (!followed.has(ws)) heardNow(ws);
    ws.ping();
  }
  setImmediate(() => {
    const now = performance.now();
    for (const ws of open) if (ws.readyState === ws.OPEN && now - (heard.get(ws) ?? now) > 2 * everyMs) onDead(ws);
  });
}
