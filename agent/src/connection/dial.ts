/**
 * One connection attempt: open the socket (pinning the collector certificate), answer the challenge with the
 * signed hello, and wait for the welcome. The caller decides what to do on failure (enroll gives up; run backs off).
 */
import { type ConnectionOptions as TlsOptions, connect as tlsConnect } from 'node:tls';
import {
  AGENT_WS_PATH,
  type AgentHello,
  type AgentMessage,
  COLLECTOR_MESSAGE_TYPES,
  type CollectorMessage,
  type CollectorWelcome,
  channelSocketOptions,
  checkPinnedCertificate,
  collectorMessages,
  encodeMessage,
  errorCodeForClose,
  OutpostError,
  PROTOCOL_VERSION,
  untrustedCertificateError,
} from '@outpost/shared';
import type { Logger } from 'pino';
import { type ClientOptions, WebSocket } from 'ws';
import { type Clock, systemClock } from '../time.js';

/** What one attempt needs. */
export interface DialOptions {
  /** Collector base URL (https://host:port) or full agent endpoint URL (wss://host:port/v1/agent). */
  server: string;
  caFingerprint?: string | undefined;
  /** Builds the hello for the challenge's nonce. */
  hello: (nonce: string) => AgentHello;
  logger: Logger;
  timeoutMs?: number;
  maxPayload?: number;
  /** The time the session's liveness is judged with (the real clock by default). */
  clock?: Clock | undefined;
}

/** How a socket ended. */
export interface CloseInfo {
  code: number;
  reason: string;
  /** The catalogue error behind the close code, when the collector closed on purpose. */
  error?: OutpostError;
}

/** The agent endpoint URL for a collector base URL. */
export function agentEndpointUrl(server: string): string {
  const url = new URL(server);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = AGENT_WS_PATH;
  return url.toString();
}

/** The catalogue error for a close code and reason (`retry_after=N` travels in the reason). */
export function closeInfo(code: number, reasonBuf: Buffer | string): CloseInfo {
  const reason = reasonBuf.toString();
  const errorCode = errorCodeForClose(code);
  return errorCode
    ? { code, reason, error: new OutpostError(errorCode, { details: { closeCode: code, reason } }) }
    : { code, reason };
}

/** Messages a session delivers after the handshake (the handshake messages themselves are protocol errors then). */
export type SessionMessage = Exclude<CollectorMessage, { type: 'collector.challenge' | 'collector.welcome' }>;

/** What Session is built from (one options object, not positional arguments). */
export interface SessionInit {
  ws: WebSocket;
  welcome: CollectorWelcome;
  logger: Logger;
  clock?: Clock;
}

/** An authenticated socket after the welcome. */
export class Session {
  #handler: ((msg: SessionMessage) => void) | undefined;
  #frameHandler: ((data: Buffer) => void) | undefined;
  readonly #early: SessionMessage[] = [];
  readonly closed: Promise<CloseInfo>;
  /** Time of the last frame or ping from the collector (for the liveness check). */
  lastActivity: number;

  readonly ws: WebSocket;
  readonly welcome: CollectorWelcome;
  private readonly logger: Logger;
  constructor(init: SessionInit) {
    const { ws, welcome, logger, clock = systemClock } = init;
    this.ws = ws;
    this.welcome = welcome;
    this.logger = logger;
    this.lastActivity = clock.now();
    this.closed = new Promise((resolve) =>
      ws.once('close', (code: number, reason: Buffer) => resolve(closeInfo(code, reason))),
    );
    ws.on('ping', () => {
      this.lastActivity = clock.now();
    });
    ws.on('message', (data, isBinary) => {
      this.lastActivity = clock.now();
      if (isBinary && this.#frameHandler) {
        this.#frameHandler(
          Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data),
        );
        return;
      }
      if (isBinary) {
        this.#protocolError(
          new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', {
            message: 'binary frame on a connection with no open channel',
          }),
        );
        return;
      }
      let msg: CollectorMessage;
      try {
        msg = collectorMessages.decode(data.toString());
      } catch (err) {
        const type = (err as OutpostError).details?.type;
        if (typeof type === 'string' && type !== '?' && !COLLECTOR_MESSAGE_TYPES.has(type)) {
          // A newer collector's command this build does not know: closing would only bring the same command back
          // on the next connection, for ever. Ignored; the collector sees no answer and its request expires.
          this.logger.warn({ type }, 'collector sent a message type this agent does not know; ignored');
          return;
        }
        this.#protocolError(err as OutpostError);
        return;
      }
      if (msg.type === 'collector.challenge' || msg.type === 'collector.welcome') {
        this.#protocolError(
          new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', { message: `${msg.type} after the welcome` }),
        );
        return;
      }
      if (this.#handler) this.#handler(msg);
      else this.#early.push(msg);
    });
  }

  #protocolError(err: OutpostError): void {
    this.logger.error({ code: err.code, err }, 'collector sent an invalid message; closing');
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(err.wsCloseCode, err.code);
  }

  /** Sets the handler for collector messages (those that arrived before are delivered now). */
  onMessage(handler: (msg: SessionMessage) => void): void {
    this.#handler = handler;
    for (const m of this.#early.splice(0)) handler(m);
  }

  /** Sets the handler for binary channel frames (shell and file bytes); without one they are protocol errors. */
  onFrame(handler: (data: Buffer) => void): void {
    this.#frameHandler = handler;
  }

  /** Sends one binary channel frame (dropped if the socket has closed). */
  sendFrame(frame: Buffer): void {
    if (this.open) this.ws.send(frame, { binary: true });
  }

  /** Bytes queued on the socket and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(msg: AgentMessage): void {
    if (this.open) this.ws.send(encodeMessage(msg));
  }

  close(code = 1000, reason = 'agent stopping'): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** The socket's options: frame limits, handshake timeout and, with a fingerprint, the pinned TLS connection. */
function socketOptions(url: string, opts: DialOptions, timeoutMs: number): ClientOptions {
  const wsOptions: ClientOptions = {
    ...channelSocketOptions(url),
    maxPayload: opts.maxPayload ?? 16 * 1024 * 1024,
    handshakeTimeout: timeoutMs,
  };
  if (opts.caFingerprint) {
    const pinned = opts.caFingerprint;
    // Pinning replaces CA verification: the certificate must be exactly the one given at install.
    (
      wsOptions as ClientOptions & { createConnection: (o: TlsOptions) => ReturnType<typeof tlsConnect> }
    ).createConnection = (o: TlsOptions) => {
      const socket = tlsConnect({ ...o, rejectUnauthorized: false });
      socket.once('secureConnect', () => {
        const mismatch = checkPinnedCertificate(socket, pinned);
        if (mismatch) socket.destroy(mismatch);
      });
      return socket;
    };
  }
  return wsOptions;
}

/** A socket error as the coded error the caller sees: a pin mismatch, an untrusted certificate, or unreachable. */
function connectError(err: Error, url: string): OutpostError {
  const pin = (err as { code?: string }).code === 'OUTPOST_E_TLS_PIN_MISMATCH' ? (err as OutpostError) : undefined;
  return (
    pin ??
    untrustedCertificateError(err, url) ??
    new OutpostError('OUTPOST_E_UNAVAILABLE', {
      cause: err,
      message: `Cannot connect to ${url}: ${err.message}`,
    })
  );
}

/**
 * The handshake as a small state machine: the challenge gets the hello, then the welcome ends it. Returns the welcome,
 * or undefined while waiting for it; throws a coded error on anything unexpected.
 */
function handshakeStep(
  state: { stage: 'challenge' | 'welcome' },
  data: Buffer | ArrayBuffer | Buffer[],
  isBinary: boolean,
  ws: WebSocket,
  hello: DialOptions['hello'],
): CollectorWelcome | undefined {
  if (isBinary)
    throw new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', { message: 'binary frame during the handshake' });
  const msg = collectorMessages.decode(data.toString());
  if (state.stage === 'challenge') {
    if (msg.type !== 'collector.challenge')
      throw new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', {
        message: `expected collector.challenge, got ${msg.type}`,
      });
    if (PROTOCOL_VERSION < msg.minProtocolVersion) {
      throw new OutpostError('OUTPOST_E_PROTOCOL_VERSION', {
        message: `Collector needs protocol ≥ ${msg.minProtocolVersion}; this agent speaks ${PROTOCOL_VERSION}`,
      });
    }
    state.stage = 'welcome';
    ws.send(encodeMessage(hello(msg.nonce)));
    return undefined;
  }
  if (msg.type !== 'collector.welcome')
    throw new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', {
      message: `expected collector.welcome, got ${msg.type}`,
    });
  return msg;
}

/** One attempt: resolves with the session after the welcome, rejects with a coded error otherwise. */
export function dial(opts: DialOptions): Promise<Session> {
  const url = agentEndpointUrl(opts.server);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const wsOptions = socketOptions(url, opts, timeoutMs);
  return new Promise<Session>((resolve, reject) => {
    const ws = new WebSocket(url, wsOptions);
    let settled = false;
    const finish = (err: Error | undefined, session?: Session) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        ws.removeAllListeners('message');
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
        reject(err);
      } else resolve(session!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new OutpostError('OUTPOST_E_HELLO_TIMEOUT', { message: `No welcome from ${url} within ${timeoutMs} ms` }),
        ),
      timeoutMs,
    );
    ws.on('error', (err) => finish(connectError(err, url)));
    ws.once('close', (code: number, reason: Buffer) => {
      const info = closeInfo(code, reason);
      finish(
        info.error ??
          new OutpostError('OUTPOST_E_UNAVAILABLE', {
            message: `Collector closed the connection (${code} ${info.reason})`,
            details: { closeCode: code },
          }),
      );
    });
    const state: { stage: 'challenge' | 'welcome' } = { stage: 'challenge' };
    ws.on('message', (data, isBinary) => {
      try {
        const welcome = handshakeStep(state, data, isBinary, ws, opts.hello);
        if (!welcome) return;
        ws.removeAllListeners('message');
        finish(undefined, new Session({ ws, welcome, logger: opts.logger, clock: opts.clock }));
      } catch (err) {
        const e = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_INTERNAL', { cause: err });
        opts.logger.error({ code: e.code, err: e }, 'handshake failed');
        if (ws.readyState === WebSocket.OPEN) ws.close(e.wsCloseCode, e.code);
        finish(e);
      }
    });
  });
}
