/** The console's live stream (GET /api/v1/live, Server-Sent Events) read as a browser would, for tests. */
import { request } from 'node:https';

/** One event of the stream, parsed. */
export interface LiveFrame {
  event: string;
  data: Record<string, unknown>;
}

/** Opens GET /api/v1/live on `apiUrl` with the given headers; collects the frames until closed. */
export function openLive(apiUrl: string, headers: Record<string, string>) {
  const url = new URL('/api/v1/live', apiUrl);
  const frames: string[] = [];
  let buffer = '';
  let ended = false;
  const res = new Promise<{ status: number; body: string; close(): void }>((resolve, reject) => {
    const req = request(url, { headers, rejectUnauthorized: false }, (r) => {
      r.setEncoding('utf8');
      r.on('close', () => {
        ended = true;
      });
      let body = '';
      r.on('data', (d: string) => {
        body += d;
        buffer += d;
        const parts = buffer.split('\n\n');
        buffer = parts.pop() ?? '';
        frames.push(...parts);
      });
      resolve({
        status: r.statusCode ?? 0,
        get body() {
          return body;
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
  /** The events received so far (comments and the opening left out). */
  const events = (): LiveFrame[] =>
    frames.flatMap((f) => {
      const event = /^event: (.+)$/m.exec(f)?.[1];
      const data = /^data: (.+)$/m.exec(f)?.[1];
      return event && data ? [{ event, data: JSON.parse(data) as Record<string, unknown> }] : [];
    });
  /** True once the collector (or the client) ended the stream. */
  return { res, frames, events, ended: () => ended };
}
