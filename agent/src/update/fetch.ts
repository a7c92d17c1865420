/**
 * Fetches release metadata and executables from the collector over the agent's own pinned TLS (the same check as
 * the agent socket: a certificate whose fingerprint differs is refused before anything is read). Implements the
 * tuf-js `Fetcher`, so the TUF client verifies whatever comes through; this file only moves bytes, bounded.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { checkPinnedCertificate, OutpostError } from '@outpost/shared';
import type { Fetcher } from 'tuf-js';
// tuf-js stops walking root versions only on its own DownloadHTTPError (a 404 for the next N.root.json).
import { DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';

const pinnedAgent = new HttpsAgent({ keepAlive: false, maxCachedSessions: 0 });

/** Where the collector serves releases (docs/0011-releases.md). */
export const UPDATES_PATH = '/v1/updates';

/** Options of the collector fetcher. */
export interface CollectorFetcherOptions {
  /** Collector base URL (https://host:port). */
  server: string;
  caFingerprint?: string | undefined;
  /** Temp files go here: on the install root's filesystem, never a shared /tmp. */
  tmpDir: string;
  timeoutMs?: number;
}

/** The tuf-js fetcher that reads from the collector. */
export class CollectorFetcher implements Fetcher {
  readonly #base: URL;
  /**
   * The last failure of the transport itself (a reset, a refusal, a timeout, a 5xx), not of what was served. tuf-js
   * wraps a failed snapshot or targets download into a plain RuntimeError holding only the message, so the verifier
   * asks here whether the refresh broke on the way rather than on the signatures (verify.ts).
   */
  lastTransportError: Error | undefined;
  constructor(private readonly opts: CollectorFetcherOptions) {
    // The configured server may be the socket's URL (wss://host:port/v1/agent): same listener, HTTP scheme.
    const u = new URL(opts.server);
    if (u.protocol === 'wss:') u.protocol = 'https:';
    if (u.protocol === 'ws:') u.protocol = 'http:';
    this.#base = new URL('/', u);
  }

  /** The metadata base URL for the TUF client. */
  get metadataBaseUrl(): string {
    return new URL(`${UPDATES_PATH}/metadata/`, this.#base).toString();
  }

  /** The targets base URL for the TUF client. */
  get targetBaseUrl(): string {
    return new URL(`${UPDATES_PATH}/targets/`, this.#base).toString();
  }

  async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    mkdirSync(this.opts.tmpDir, { recursive: true, mode: 0o700 });
    const tmp = join(this.opts.tmpDir, `.fetch-${randomBytes(6).toString('hex')}`);
    try {
      await this.download(url, maxLength, tmp);
      return await handler(tmp);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    return this.downloadFile(url, maxLength, async (f) => readFileSync(f));
  }

  /** Streams one URL into `file`, refusing more than `maxLength` bytes (the signed length, or tuf-js's cap). */
  download(url: string, maxLength: number, file: string): Promise<void> {
    const u = new URL(url);
    const pinned = this.opts.caFingerprint;
    return new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        const served =
          err instanceof DownloadLengthMismatchError || (err instanceof DownloadHTTPError && err.statusCode < 500);
        if (!served) this.lastTransportError = err;
        req.destroy();
        out.destroy();
        reject(err);
      };
      const out = createWriteStream(file, { mode: 0o600 });
      const onResponse = (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          fail(new DownloadHTTPError(`GET ${u.pathname} answered ${res.statusCode}`, res.statusCode ?? 0));
          return;
        }
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > maxLength)
            fail(new DownloadLengthMismatchError(`${u.pathname} is longer than ${maxLength} bytes`));
        });
        res.on('error', fail);
        res.pipe(out);
        out.on('finish', () => resolve());
        out.on('error', fail);
      };
      const common = { method: 'GET', timeout: this.opts.timeoutMs ?? 30_000 };
      const req =
        u.protocol === 'https:'
          ? httpsRequest(
              u,
              // The collector's certificate is pinned, not checked against system CAs, as on the agent socket. No
              // session resumption: a resumed session shows no certificate to check.
              pinned ? { ...common, rejectUnauthorized: false, agent: pinnedAgent } : common,
              onResponse,
            )
          : httpRequest(u, common, onResponse);
      if (pinned && u.protocol === 'https:') {
        req.on('socket', (socket) => {
          const verify = () => {
            const mismatch = checkPinnedCertificate(socket as TLSSocket, pinned);
            if (mismatch) fail(mismatch);
          };
          if ((socket as TLSSocket).getPeerCertificate?.()?.raw) verify();
          else socket.once('secureConnect', verify);
        });
      }
      req.on('timeout', () =>
        fail(new OutpostError('OUTPOST_E_UPDATE_FETCH', { message: `GET ${u.pathname} timed out` })),
      );
      req.on('error', fail);
      req.end();
    });
  }
}
