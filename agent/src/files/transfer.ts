/**
 * One file transfer on a channel, on the one handle `openConfined` returned (the name is never opened again).
 * Download: the file is read from `offset` and sent under the collector's credit. Upload: Data frames are written at
 * `offset` onwards (resume = truncate to the offset the collector already has), each write granting the credit back.
 * Both end with `file.done` carrying the SHA-256 of the whole file, read through the same handle, so the other side
 * can check what it holds. Every I/O failure (read, write, sync, hash, close) ends the transfer with a coded refusal
 * (`OUTPOST_E_FILE_IO`): nothing a file does can reject unhandled and take the agent down.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  type ChannelFrame,
  CreditSender,
  encodeCredit,
  type FileOpen,
  FrameKind,
  OutpostError,
  readCredit,
} from '@outpost/shared';
import type { Logger } from 'pino';
import type { Session } from '../connection/index.js';
import type { Channel } from '../shell/hub.js';
import { ioError } from './open.js';

const CHUNK = 64 * 1024;

/** SHA-256 (hex) of the first `size` bytes read through `fh`; the file must still hold them. */
export async function sha256Handle(fh: FileHandle, size: number): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(CHUNK * 4, Math.max(size, 1)));
  let pos = 0;
  while (pos < size) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) throw changed(`the file shrank to ${pos} bytes during the transfer`);
    h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return h.digest('hex');
}

/** Writes all of `data` at `at` (a write may be short: a file size limit, a full disk). */
async function writeAll(fh: FileHandle, data: Buffer, at: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, at + done);
    if (bytesWritten === 0) throw changed('the disk took no more bytes');
    done += bytesWritten;
  }
}

const changed = (message: string) => new OutpostError('OUTPOST_E_FILE_IO', { message: `file I/O failed: ${message}` });

/** What FileChannel is built from (one options object, not positional arguments). */
export interface FileChannelInit {
  session: Session;
  msg: FileOpen;
  fh: FileHandle;
  maxBytes: number;
  logger: Logger;
  onGone: () => void;
}

/** A transfer bound to one channel. */
export class FileChannel implements Channel {
  readonly sessionId: string;
  #closed = false;
  #fh: FileHandle | undefined;
  #written = 0;
  #writes: Promise<void> = Promise.resolve();
  #sender: CreditSender | undefined;
  #stream: Readable | undefined;

  private readonly session: Session;
  private readonly msg: FileOpen;
  private readonly maxBytes: number;
  private readonly logger: Logger;
  private readonly onGone: () => void;
  private constructor(init: FileChannelInit) {
    const { session, msg, fh, maxBytes, logger, onGone } = init;
    this.session = session;
    this.msg = msg;
    this.maxBytes = maxBytes;
    this.logger = logger;
    this.onGone = onGone;
    this.sessionId = msg.sessionId;
    this.#fh = fh;
  }

  /** Takes the opened file (closed on refusal) and answers `file.opened`; throws a coded error to refuse. */
  static async start(
    session: Session,
    msg: FileOpen,
    fh: FileHandle,
    maxBytes: number,
    logger: Logger,
    onGone: () => void,
  ): Promise<FileChannel> {
    const ch = new FileChannel({ session, msg, fh, maxBytes, logger, onGone });
    try {
      if (msg.direction === 'download') await ch.#startDownload(fh);
      else await ch.#startUpload(fh);
    } catch (err) {
      // A refusal after the file was opened (resume offset conflict, too large) must not keep it open.
      ch.#fh = undefined;
      ch.#closed = true;
      await fh.close().catch(() => undefined);
      throw ioError(err);
    }
    return ch;
  }

  async #startDownload(fh: FileHandle): Promise<void> {
    const st = await fh.stat();
    if (st.size > this.msg.size)
      throw new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', { message: `file is ${st.size} bytes, over the limit` });
    if (this.msg.offset > st.size)
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: 'resume offset is past the end of the file' });
    this.session.send({ type: 'file.opened', channel: this.msg.channel, sessionId: this.msg.sessionId, size: st.size });
    // The stream reads the handle and is destroyed by close(), which closes the handle (not at its end: the hash
    // reads the handle after it).
    const stream = fh.createReadStream({
      start: this.msg.offset,
      end: st.size > this.msg.offset ? st.size - 1 : this.msg.offset,
      highWaterMark: CHUNK,
      autoClose: false,
    });
    this.#stream = stream;
    const sender = new CreditSender(this.msg.channel, (f) => this.session.sendFrame(f), {
      pause: () => stream.pause(),
      resume: () => stream.resume(),
    });
    this.#sender = sender;
    let sent = this.msg.offset;
    stream.on('data', (d) => {
      const chunk = d as Buffer;
      // Never past the size announced: with nothing to send (`start` = `end` = size) a file that grew since gives a byte.
      const part = chunk.subarray(0, Math.max(0, st.size - sent));
      sent += part.length;
      sender.write(part);
    });
    stream.on('error', (err) => this.#fail(err));
    stream.on('end', () => {
      this.#finishDownload(fh, st.size, sent).catch((err: unknown) => this.#fail(err));
    });
  }

  async #finishDownload(fh: FileHandle, size: number, sent: number): Promise<void> {
    if (sent !== size) throw changed(`the file shrank to ${sent} bytes during the download (it had ${size})`);
    const sha256 = await sha256Handle(fh, size);
    await this.#sender!.end();
    this.#done(size, sha256);
  }

  async #startUpload(fh: FileHandle): Promise<void> {
    if (this.msg.size > this.maxBytes)
      throw new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', {
        message: `upload of ${this.msg.size} bytes is over the agent limit`,
      });
    const st = await fh.stat();
    // Resume keeps what a previous, interrupted upload wrote (never more than the announced size).
    const offset = this.msg.resume === true ? Math.min(st.size, this.msg.size) : this.msg.offset;
    if (offset > st.size)
      throw new OutpostError('OUTPOST_E_CONFLICT', {
        message: `resume offset is past what the agent holds (${st.size})`,
      });
    await fh.truncate(offset);
    this.#written = offset;
    this.session.send({
      type: 'file.opened',
      channel: this.msg.channel,
      sessionId: this.msg.sessionId,
      size: offset,
    });
  }

  onFrame(frame: ChannelFrame): void {
    if (this.#closed) return;
    if (frame.kind === FrameKind.Credit) {
      const n = readCredit(frame.payload);
      if (n !== undefined) this.#sender?.grant(n);
      return;
    }
    if (this.msg.direction !== 'upload' || !this.#fh) return;
    const fh = this.#fh;
    if (frame.kind === FrameKind.Data) {
      // A view, not a copy: the socket hands each message over in its own buffer.
      const data = Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength);
      const at = this.#written;
      this.#written += data.length;
      if (this.#written > this.msg.size) {
        this.#fail(new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', { message: 'more bytes than announced' }));
        return;
      }
      this.#queue(async () => {
        await writeAll(fh, data, at);
        if (!this.#closed) this.session.sendFrame(encodeCredit(this.msg.channel, data.length));
      });
      return;
    }
    if (frame.kind === FrameKind.End) {
      const size = this.#written;
      this.#queue(async () => {
        await fh.sync();
        const sha256 = await sha256Handle(fh, size);
        this.#done(size, sha256);
      });
    }
  }

  /** Runs upload I/O in order; the first failure ends the transfer and skips what was queued behind it. */
  #queue(step: () => Promise<void>): void {
    this.#writes = this.#writes
      .then(() => (this.#closed ? undefined : step()))
      .catch((err: unknown) => this.#fail(err));
  }

  #done(size: number, sha256: string): void {
    if (this.#closed) return;
    this.session.send({ type: 'file.done', channel: this.msg.channel, sessionId: this.msg.sessionId, size, sha256 });
    this.logger.info({ sessionId: this.msg.sessionId, direction: this.msg.direction, size }, 'file transfer done');
    this.close('done');
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    const e = ioError(err);
    this.logger.warn(
      { sessionId: this.msg.sessionId, direction: this.msg.direction, code: e.code, reason: e.message },
      'file transfer failed',
    );
    this.session.send({
      type: 'shell.refused',
      channel: this.msg.channel,
      sessionId: this.msg.sessionId,
      code: e.code,
      message: e.message.slice(0, 500),
    });
    this.close('failed');
  }

  close(reason: string): void {
    if (this.#closed && !this.#fh && !this.#stream) return;
    this.#closed = true;
    this.#sender?.abort();
    const stream = this.#stream;
    this.#stream = undefined;
    const fh = this.#fh;
    this.#fh = undefined;
    // A download's stream owns the handle's closing (destroying a FileHandle stream closes the handle, after any
    // read in flight); an upload's handle closes once the queued writes have settled (they never reject).
    if (stream) stream.destroy();
    else
      void this.#writes
        .then(() => fh?.close())
        .catch((err: unknown) =>
          this.logger.warn({ sessionId: this.msg.sessionId, err: String(err) }, 'file close failed'),
        );
    this.logger.debug({ sessionId: this.msg.sessionId, reason }, 'file channel closed');
    this.onGone();
  }
}
