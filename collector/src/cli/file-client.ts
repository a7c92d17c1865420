/**
 * The technician side of `outpost cp`: streams a file to or from an agent over the collector's transfer socket in
 * channel frames under credit (at most one window in flight), resumes from what either side already holds, and
 * checks the SHA-256 of the whole file on both ends. Used by the CLI and the end-to-end tests.
 */
import { createHash } from 'node:crypto';
import { createReadStream, constants as fsc } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import {
  CHANNEL_MAX_FRAME_BYTES,
  CHANNEL_WINDOW_BYTES,
  decodeFrame,
  encodeCredit,
  encodeFrame,
  errorCodeForClose,
  FRAME_HEADER_BYTES,
  FRAME_VERSION,
  FrameKind,
  isErrorCode,
  OutpostError,
  readCredit,
  untrustedCertificateError,
} from '@outpost/shared';
import type { WebSocket } from 'ws';
import { readServerMessage, type ServerMessage } from '../sessions/wire.js';
import type { ApiTarget } from './client.js';
import { openTechSocket, refusalOf } from './tech-socket.js';

/** What a finished transfer reports. */
export interface TransferResult {
  sessionId: string;
  /** Size of the whole file. */
  size: number;
  /** Where this transfer started (bytes already held by the receiving side). */
  offset: number;
  /** Bytes sent this time. */
  bytes: number;
  /** SHA-256 (hex) of the whole file, equal on both ends. */
  sha256: string;
}

/** Options of one transfer. */
export interface TransferOptions {
  /** Continue after what the receiving side already holds. */
  resume?: boolean;
  origin?: string;
}

/** SHA-256 (hex) of a whole local file. */
export async function sha256OfFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The transfer socket's events as promises and callbacks. */
class TransferSocket {
  readonly ready: Promise<{ sessionId: string; size: number; offset: number }>;
  readonly done: Promise<{ size: number; sha256: string }>;
  onCredit: (n: number) => void = () => undefined;
  #onData: ((payload: Uint8Array) => void) | undefined;
  /** Data that arrived before a consumer was attached (frames may follow `transfer.ready` in the same tick). */
  #early: Uint8Array[] = [];
  #error: OutpostError | undefined;

  constructor(readonly ws: WebSocket) {
    let ready!: (r: { sessionId: string; size: number; offset: number }) => void;
    let done!: (r: { size: number; sha256: string }) => void;
    let fail!: (e: OutpostError) => void;
    this.ready = new Promise((res, rej) => {
      ready = res;
      fail = rej;
    });
    this.done = new Promise((res, rej) => {
      done = res;
      const prev = fail;
      fail = (e) => {
        prev(e);
        rej(e);
      };
    });
    this.ready.catch(() => undefined);
    this.done.catch(() => undefined);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        let msg: ServerMessage | undefined;
        try {
          msg = readServerMessage(data.toString());
        } catch (err) {
          // A collector that breaks the protocol ends the transfer with the reason, never a crash of the CLI.
          fail(err as OutpostError);
          ws.close();
          return;
        }
        if (msg?.type === 'transfer.ready') ready({ sessionId: msg.sessionId, size: msg.size, offset: msg.offset });
        else if (msg?.type === 'transfer.done') done({ size: msg.size, sha256: msg.sha256 });
        else if (msg?.type === 'session.error')
          this.#error = new OutpostError(isErrorCode(msg.code) ? msg.code : 'OUTPOST_E_INTERNAL', {
            message: msg.message,
          });
        return;
      }
      const frame = decodeFrame(data as Buffer);
      if (frame.kind === FrameKind.Data) {
        if (this.#onData) this.#onData(frame.payload);
        else this.#early.push(frame.payload);
      } else if (frame.kind === FrameKind.Credit) this.onCredit(readCredit(frame.payload) ?? 0);
    });
    ws.on('unexpected-response', (_req, res) => void refusalOf(res).then(fail));
    ws.on('error', (err) =>
      fail(
        untrustedCertificateError(err, 'the collector') ??
          new OutpostError('OUTPOST_E_UNAVAILABLE', { message: err.message, cause: err }),
      ),
    );
    ws.on('close', (code, reason) => {
      const c = errorCodeForClose(code);
      fail(
        this.#error ??
          new OutpostError(c && isErrorCode(c) ? c : 'OUTPOST_E_SESSION_ENDED', {
            message: reason.toString() || 'the transfer ended before it completed',
          }),
      );
    });
  }

  /** Attaches the data consumer and hands it what arrived before. */
  set onData(fn: (payload: Uint8Array) => void) {
    this.#onData = fn;
    for (const p of this.#early.splice(0)) fn(p);
  }

  send(frame: Buffer): void {
    this.ws.send(frame);
  }

  close(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000, 'done');
  }
}

const filesPath = (agentId: string, q: Record<string, string | number | boolean>) =>
  `/api/v1/agents/${encodeURIComponent(agentId)}/files?${new URLSearchParams(
    Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString()}`;

function mismatch(local: string, remote: string): OutpostError {
  return new OutpostError('OUTPOST_E_CHECKSUM_MISMATCH', {
    message: `local SHA-256 ${local} differs from the agent's ${remote}`,
  });
}

/** Copies a local file to `remotePath` on an agent. */
export async function uploadFile(
  target: ApiTarget,
  agentId: string,
  localPath: string,
  remotePath: string,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const st = await stat(localPath);
  if (!st.isFile()) throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: `${localPath} is not a regular file` });
  const sha256 = await sha256OfFile(localPath);
  const t = new TransferSocket(
    openTechSocket(
      target,
      filesPath(agentId, {
        direction: 'upload',
        path: remotePath,
        size: st.size,
        sha256,
        resume: options.resume === true,
      }),
      options.origin,
    ),
  );
  const ready = await t.ready;
  let credit = CHANNEL_WINDOW_BYTES;
  let wake: (() => void) | undefined;
  t.onCredit = (n) => {
    credit += n;
    wake?.();
  };
  const fh = await open(localPath, fsc.O_RDONLY);
  let pos = ready.offset;
  try {
    while (pos < st.size) {
      while (credit < Math.min(CHANNEL_MAX_FRAME_BYTES, st.size - pos)) {
        const why = await Promise.race([new Promise<'credit'>((r) => (wake = () => r('credit'))), t.done]);
        wake = undefined;
        if (why !== 'credit')
          throw new OutpostError('OUTPOST_E_UNEXPECTED_MESSAGE', {
            message: 'the transfer finished before the upload',
          });
      }
      const n = Math.min(CHANNEL_MAX_FRAME_BYTES, st.size - pos, credit);
      // Read straight behind the frame header: one buffer per frame, no copy.
      const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n);
      frame[0] = FRAME_VERSION;
      frame[1] = FrameKind.Data;
      frame.writeUInt32BE(1, 2);
      const { bytesRead } = await fh.read(frame, FRAME_HEADER_BYTES, n, pos);
      if (bytesRead !== n)
        throw new OutpostError('OUTPOST_E_CONFLICT', { message: `${localPath} changed size during the upload` });
      t.send(frame);
      credit -= n;
      pos += n;
    }
    t.send(encodeFrame(FrameKind.End, 1));
    const done = await t.done;
    if (done.sha256 !== sha256) throw mismatch(sha256, done.sha256);
    return { sessionId: ready.sessionId, size: done.size, offset: ready.offset, bytes: pos - ready.offset, sha256 };
  } finally {
    await fh.close();
    t.close();
  }
}

/** Copies `remotePath` on an agent to a local file. */
export async function downloadFile(
  target: ApiTarget,
  agentId: string,
  remotePath: string,
  localPath: string,
  options: TransferOptions = {},
): Promise<TransferResult> {
  let offset = 0;
  if (options.resume)
    offset = await stat(localPath).then(
      (s) => s.size,
      () => 0,
    );
  const t = new TransferSocket(
    openTechSocket(target, filesPath(agentId, { direction: 'download', path: remotePath, offset }), options.origin),
  );
  const ready = await t.ready;
  const fh: FileHandle = await open(localPath, fsc.O_WRONLY | fsc.O_CREAT, 0o644);
  let pos = offset;
  let writes = Promise.resolve();
  let failed: unknown;
  try {
    await fh.truncate(offset);
    t.onData = (payload) => {
      const at = pos;
      pos += payload.byteLength;
      // Credit goes back once the bytes are on disk, so a slow disk slows the agent instead of filling memory.
      writes = writes
        .then(() => fh.write(payload, 0, payload.byteLength, at))
        .then(() => t.send(encodeCredit(1, payload.byteLength)))
        .catch((err: unknown) => {
          failed ??= err;
          t.close();
        });
    };
    const done = await t.done;
    await writes;
    if (failed) throw failed;
    await fh.sync();
    const sha256 = await sha256OfFile(localPath);
    if (sha256 !== done.sha256 || pos !== done.size) throw mismatch(sha256, done.sha256);
    return { sessionId: ready.sessionId, size: done.size, offset, bytes: pos - offset, sha256 };
  } finally {
    await writes;
    await fh.close();
    t.close();
  }
}
