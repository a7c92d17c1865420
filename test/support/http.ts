/**
 * A raw HTTP(S) request over a real socket, with any headers (Cookie, Origin, Sec-Fetch-Site…) and a chosen local
 * address, for tests of what a browser or another source would send. TLS is not verified: loopback test collectors
 * use a generated certificate.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** A JSON body: an error, or a route's fields (read them with a check or a cast). */
export interface AnswerBody {
  error?: { code: string; message: string; details?: Record<string, unknown> };
  [field: string]: unknown;
}

/** The answer: status, headers and the parsed JSON body (empty when not JSON). */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  json: AnswerBody;
}

/** Sends one request; `body` is sent as JSON. */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; localAddress?: string } = {},
): Promise<RawAnswer> {
  const url = new URL(path, base);
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const headers: Record<string, string> = { ...options.headers };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        headers,
        rejectUnauthorized: false,
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: AnswerBody = {};
          try {
            json = text ? (JSON.parse(text) as AnswerBody) : {};
          } catch {
            // not JSON: an empty body object
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
