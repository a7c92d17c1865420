/** The CLI's HTTP client: JSON over HTTPS with certificate pinning, coded errors from the API surfaced as-is. */
import { createReadStream, statSync } from 'node:fs';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import {
  checkPinnedCertificate,
  type ErrorCode,
  isErrorCode,
  OutpostError,
  untrustedCertificateError,
} from '@outpost/shared';

/** Where and how to reach the collector API. */
export interface ApiTarget {
  server: string;
  caFingerprint?: string | undefined;
  token?: string | undefined;
}

const pinnedAgent = new HttpsAgent({ keepAlive: true, maxCachedSessions: 0 });

/**
 * The collector's address as a URL, or a coded error naming it: it comes from `--server`, `OUTPOST_SERVER` or the
 * saved login, so a typo must read as such, not as a stack trace.
 */
export function collectorUrl(server: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `The collector address ${JSON.stringify(server.slice(0, 200))} is not an https:// (or http://) URL`,
      details: { server: server.slice(0, 200) },
    });
  return url;
}

/** A file to send as the raw request body (streamed, never read whole): `apiCall(t, 'PUT', path, new FileBody(f))`. */
export class FileBody {
  constructor(readonly path: string) {}
}

/** The request's headers, TLS options and body: JSON, a streamed file, or none. */
function requestParts(
  target: ApiTarget,
  url: URL,
  method: string,
  body: unknown,
): { options: RequestOptions; payload: Buffer | undefined; file: FileBody | undefined } {
  const file = body instanceof FileBody ? body : undefined;
  const payload = body === undefined || file ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload) headers['content-type'] = 'application/json';
  if (file) {
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = String(statSync(file.path).size);
  }
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  const options: RequestOptions = { method, headers, timeout: 30_000 };
  if (url.protocol === 'https:' && target.caFingerprint) {
    options.rejectUnauthorized = false;
    // No TLS session resumption: a resumed session presents no certificate, so there would be nothing to pin.
    options.agent = pinnedAgent;
  }
  return { options, payload, file };
}

/** A finished response as the caller's value: text for a non-JSON success, parsed JSON, or the API's coded error. */
function responseValue<T>(method: string, url: URL, res: IncomingMessage, text: string): T {
  const isJson = String(res.headers['content-type'] ?? 'application/json').includes('json');
  if (!isJson && (res.statusCode ?? 500) < 400) return text as T;
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch (cause) {
    // A success that is not JSON is the collector speaking another language (another version, a proxy's page).
    throw new OutpostError((res.statusCode ?? 500) < 400 ? 'OUTPOST_E_BAD_RESPONSE' : 'OUTPOST_E_INTERNAL', {
      cause,
      message: `${method} ${url.pathname}: HTTP ${res.statusCode} with a body that is not JSON`,
    });
  }
  if ((res.statusCode ?? 500) >= 400) {
    const e = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } }).error;
    const code: ErrorCode = e?.code && isErrorCode(e.code) ? e.code : 'OUTPOST_E_INTERNAL';
    throw new OutpostError(code, { message: e?.message ?? `HTTP ${res.statusCode}`, details: e?.details });
  }
  return json as T;
}

/** Ends the request when the collector's certificate is not the pinned one. */
function pinCertificate(req: ClientRequest, pinned: string): void {
  req.on('socket', (s) => {
    const verify = () => {
      const mismatch = checkPinnedCertificate(s as TLSSocket, pinned);
      if (mismatch) req.destroy(mismatch);
    };
    // A kept-alive socket finished its handshake already: check it now instead of waiting for a past event.
    const done = Boolean(((s as TLSSocket).getPeerCertificate?.() as { raw?: Buffer } | undefined)?.raw);
    if (done) verify();
    else s.once('secureConnect', verify);
  });
}

/**
 * Calls the API and returns the parsed JSON body; throws the API's coded error on failure. The CLI calls it through
 * `api()` (cli/api.ts), which types and checks the answer from the route table; tests and scripts call it directly.
 */
export async function apiCall<T>(target: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  const url = new URL(path, collectorUrl(target.server));
  const { options, payload, file } = requestParts(target, url, method, body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const req = send(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(responseValue<T>(method, url, res, Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
    });
    if (url.protocol === 'https:' && target.caFingerprint) pinCertificate(req, target.caFingerprint);
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', (err) => {
      reject(
        err instanceof OutpostError
          ? err
          : (untrustedCertificateError(err, url.origin) ??
              new OutpostError('OUTPOST_E_UNAVAILABLE', {
                cause: err,
                message: `Cannot reach ${url.origin}: ${err.message}`,
              })),
      );
    });
    if (file)
      createReadStream(file.path)
        .on('error', (err) => req.destroy(err))
        .pipe(req);
    else req.end(payload);
  });
}
