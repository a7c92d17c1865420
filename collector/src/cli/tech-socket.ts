/**
 * Opens a technician WebSocket to the collector: bearer token, pinned certificate, the channel socket options
 * (no compression, no masking work over TLS). `ws` turns Nagle off on every socket it sets up, so single
 * keystrokes leave at once.
 */
import type { TLSSocket } from 'node:tls';
import { channelSocketOptions, checkPinnedCertificate, isErrorCode, OutpostError } from '@outpost/shared';
import { WebSocket } from 'ws';
import { heardNow, keepAliveRound } from '../sessions/keepalive.js';
import { type ApiTarget, collectorUrl } from './client.js';

/** How often the socket pings the collector; a ping unanswered by the next one means the collector is gone. */
export const TECH_KEEPALIVE_MS = 15_000;

/** A socket on `path` (with its query) of the collector API. */
export function openTechSocket(
  target: ApiTarget,
  path: string,
  origin?: string,
  keepAliveMs = TECH_KEEPALIVE_MS,
): WebSocket {
  const base = collectorUrl(target.server);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const headers: Record<string, string> = {};
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  const url = new URL(path, base);
  const ws = new WebSocket(url, {
    headers,
    ...channelSocketOptions(url),
    rejectUnauthorized: !target.caFingerprint,
    ...(origin ? { origin } : {}),
  });
  if (target.caFingerprint) {
    const pinned = target.caFingerprint;
    ws.once('upgrade', (res) => {
      const mismatch = checkPinnedCertificate(res.socket as TLSSocket, pinned);
      if (mismatch) ws.terminate();
    });
  }
  keepAlive(ws, keepAliveMs);
  return ws;
}

/**
 * A collector whose network vanished sends no FIN: the technician would sit in a raw terminal that no key can
 * leave. Silence for more than two rounds fails the socket with OUTPOST_E_UNAVAILABLE instead.
 */
function keepAlive(ws: WebSocket, everyMs: number): void {
  let timer: NodeJS.Timeout | undefined;
  ws.once('open', () => {
    timer = setInterval(() => {
      // A watcher whose output backs up stops reading on purpose: that silence is its own, not the collector's.
      if (ws.isPaused) {
        heardNow(ws);
        return;
      }
      keepAliveRound([ws], everyMs, () => {
        clearInterval(timer);
        ws.emit(
          'error',
          new OutpostError('OUTPOST_E_UNAVAILABLE', {
            message: `the collector stopped answering (silent for more than ${2 * everyMs} ms)`,
          }),
        );
        ws.terminate();
      });
    }, everyMs);
    // The process may exit while the session is open (the CLI is done): the timer must not keep it alive.
    timer.unref();
  });
  ws.once('close', () => clearInterval(timer));
}

/** The coded error of an HTTP refusal of the upgrade (403, 404, 409…), read from the JSON body. */
export function refusalOf(res: import('node:http').IncomingMessage): Promise<OutpostError> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      let code = 'OUTPOST_E_INTERNAL';
      let message = `HTTP ${res.statusCode}`;
      try {
        const e = (JSON.parse(Buffer.concat(chunks).toString()) as { error?: { code: string; message: string } }).error;
        if (e) ({ code, message } = e);
      } catch {
        // Not JSON: keep the status line.
      }
      resolve(
        new OutpostError(isErrorCode(code) ? code : 'OUTPOST_E_INTERNAL', {
          message,
          details: { status: res.statusCode },
        }),
      );
    });
  });
}
