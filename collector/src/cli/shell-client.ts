/**
 * The technician side of a shell session: opens the socket (bearer token, pinned certificate), writes input
 * under the input window, grants output credit as output is consumed, and reports the remote exit status.
 * Used by `outpost shell`, the end-to-end tests and the benchmark.
 */

import type { IncomingMessage } from 'node:http';
import {
  CHANNEL_MAX_FRAME_BYTES,
  CHANNEL_WINDOW_BYTES,
  decodeFrame,
  encodeCredit,
  encodeFrame,
  errorCodeForClose,
  FrameKind,
  isErrorCode,
  OutpostError,
  readCredit,
} from '@outpost/shared';
import { WebSocket } from 'ws';
import { readServerMessage, type ServerMessage } from '../sessions/wire.js';
import type { ApiTarget } from './client.js';
import { openTechSocket } from './tech-socket.js';

/** Input bytes in flight before waiting for the agent's credit (the collector enforces 64 KiB). */
const INPUT_WINDOW = 64 * 1024;
/**
 * Output credit is returned in batches of a quarter window (or when the output goes quiet): each grant is a frame
 * the collector handles and forwards and the agent handles, so at 16 KiB grants outnumbered 32 KiB data frames
 * two to one during bulk output; a quarter window keeps the agent well inside its credit.
 */
const CREDIT_BATCH = CHANNEL_WINDOW_BYTES / 4;

/** How a session ended. */
export interface ShellEnd {
  exitCode: number | null;
  code?: string | undefined;
  message?: string | undefined;
}

/** Options of one session. */
export interface ShellClientOptions {
  cols?: number;
  rows?: number;
  elevated?: boolean;
  /** Join a live session read-only instead of opening one on an agent. */
  joinSessionId?: string;
  /**
   * Output credit is the caller's: it calls `consumed(n)` once it has written the bytes out (so a slow terminal or
   * pipe slows the remote program instead of growing this process's buffers), or `grant()` directly (tests of a
   * slow technician). Without it, output is credited as it arrives.
   */
  manualCredit?: boolean;
  origin?: string;
  /** Keep-alive ping interval (default TECH_KEEPALIVE_MS). */
  keepAliveMs?: number;
}

/** A live technician session. */
export class ShellClient {
  sessionId = '';
  runAs = '';
  readonly ready: Promise<void>;
  readonly ended: Promise<ShellEnd>;
  #onData: ((d: Buffer) => void) | undefined;
  /** Output that arrived before a consumer was attached (the first prompt can precede `session.ready`). */
  #early: Buffer[] = [];
  #inputCredit = INPUT_WINDOW;
  #pendingInput: Buffer[] = [];
  #toGrant = 0;
  #grantTimer: NodeJS.Timeout | undefined;
  #end: ShellEnd | undefined;
  received = 0;

  private constructor(
    readonly ws: WebSocket,
    private readonly options: ShellClientOptions,
  ) {
    let ready!: () => void;
    let fail!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      ready = res;
      fail = rej;
    });
    this.ready.catch(() => undefined);
    this.ended = new Promise((resolve) => {
      ws.on('message', (data, isBinary) => {
        if (isBinary) this.#onFrame(data as Buffer);
        else this.#onControl(data.toString(), ready);
      });
      ws.on('unexpected-response', (_req, res) => this.#onRefused(res, fail, resolve));
      ws.on('error', (err) => {
        this.#end ??= { exitCode: null, code: 'OUTPOST_E_UNAVAILABLE', message: err.message };
        fail(err);
      });
      ws.on('close', (code, reason) => this.#onClose(code, reason, fail, resolve));
    });
  }

  /** A JSON control message: the session is ready, or it ended (exit code or coded error). */
  #onControl(text: string, ready: () => void): void {
    let msg: ServerMessage | undefined;
    try {
      msg = readServerMessage(text);
    } catch (err) {
      // A collector that breaks the protocol ends the session with the reason, never a crash of the CLI.
      this.#end = { exitCode: null, code: 'OUTPOST_E_BAD_MESSAGE', message: (err as Error).message };
      this.ws.close();
      return;
    }
    if (msg?.type === 'session.ready') {
      this.sessionId = msg.sessionId;
      this.runAs = msg.runAs;
      ready();
    } else if (msg?.type === 'session.exit') this.#end = { exitCode: msg.exitCode };
    else if (msg?.type === 'session.error') this.#end = { exitCode: null, code: msg.code, message: msg.message };
  }

  /** A binary frame: output for the consumer (credited back), or input credit from the agent. */
  #onFrame(data: Buffer): void {
    const frame = decodeFrame(data);
    if (frame.kind === FrameKind.Data) {
      this.received += frame.payload.byteLength;
      const d = Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength);
      if (this.#onData) this.#onData(d);
      else this.#early.push(d);
      if (!this.options.manualCredit) this.consumed(frame.payload.byteLength);
    } else if (frame.kind === FrameKind.Credit) {
      this.#inputCredit += readCredit(frame.payload) ?? 0;
      this.#flushInput();
    }
  }

  /** The upgrade was refused: the API's coded error (or the status line) ends the session before it began. */
  #onRefused(res: IncomingMessage, fail: (e: Error) => void, resolve: (end: ShellEnd) => void): void {
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
      this.#end = { exitCode: null, code, message };
      fail(
        new OutpostError(isErrorCode(code) ? code : 'OUTPOST_E_INTERNAL', {
          message,
          details: { status: res.statusCode },
        }),
      );
      resolve(this.#end);
    });
  }

  /** The socket closed: the end already known, or one read from the close code. */
  #onClose(code: number, reason: Buffer, fail: (e: Error) => void, resolve: (end: ShellEnd) => void): void {
    clearTimeout(this.#grantTimer);
    if (!this.#end) {
      const text = reason.toString();
      this.#end = { exitCode: null, code: errorCodeForClose(code) ?? `close ${code}`, message: text };
    }
    const c = this.#end.code;
    fail(
      new OutpostError(c && isErrorCode(c) ? c : 'OUTPOST_E_SESSION_ENDED', {
        message: this.#end.message || 'session ended',
      }),
    );
    resolve(this.#end);
  }

  /** Opens a session on an agent (or joins one). Resolves once the agent's PTY runs. */
  static async open(target: ApiTarget, agentId: string, options: ShellClientOptions = {}): Promise<ShellClient> {
    const path = options.joinSessionId
      ? `/api/v1/sessions/${encodeURIComponent(options.joinSessionId)}/join`
      : `/api/v1/agents/${encodeURIComponent(agentId)}/shell?cols=${options.cols ?? 80}&rows=${options.rows ?? 24}&elevated=${options.elevated ? 'true' : 'false'}`;
    const ws = openTechSocket(target, path, options.origin, options.keepAliveMs);
    const client = new ShellClient(ws, options);
    await client.ready;
    return client;
  }

  /** Receives output bytes. */
  onData(fn: (d: Buffer) => void): void {
    this.#onData = fn;
    for (const d of this.#early.splice(0)) fn(d);
  }

  /** Output bytes consumed: grant them back in batches (and soon after output goes quiet). */
  consumed(n: number): void {
    this.#toGrant += n;
    if (this.#toGrant >= CREDIT_BATCH) this.grant();
    else if (!this.#grantTimer) this.#grantTimer = setTimeout(() => this.grant(), 20);
  }

  /** Grants the consumed output now (or `n` bytes when credit is manual). */
  grant(n = this.#toGrant): void {
    clearTimeout(this.#grantTimer);
    this.#grantTimer = undefined;
    this.#toGrant = 0;
    if (n > 0 && this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeCredit(1, n));
  }

  /** Sends input (queued while the input window is full). */
  write(data: string | Buffer): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let i = 0; i < buf.length; i += CHANNEL_MAX_FRAME_BYTES)
      this.#pendingInput.push(buf.subarray(i, i + CHANNEL_MAX_FRAME_BYTES));
    this.#flushInput();
  }

  #flushInput(): void {
    while (this.#pendingInput.length > 0 && this.ws.readyState === WebSocket.OPEN) {
      const head = this.#pendingInput[0]!;
      if (head.length > this.#inputCredit) return;
      this.#pendingInput.shift();
      this.#inputCredit -= head.length;
      this.ws.send(encodeFrame(FrameKind.Data, 1, head));
    }
  }

  /** Tells the remote terminal its new size. */
  resize(cols: number, rows: number): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'session.resize', cols, rows }));
  }

  /** Ends the session (the agent kills its process tree). */
  close(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'session.close' }));
  }

  /** Drops the socket without a goodbye (a technician losing the network). */
  terminate(): void {
    this.ws.terminate();
  }
}
