/**
 * One file transfer on a channel. Download: the file is read from `offset` and sent under the collector's
 * credit. Upload: Data frames are written at `offset` onwards (resume = truncate to the offset the collector
 * already has), each write granting the credit back. Both end with `file.done` carrying the SHA-256 of the
 * whole file, so the other side can check what it holds.
 */
import { createHash } from 'node:crypto';
import { createReadStream, constants as fsc } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
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

/** SHA-256 (hex) of a whole file. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A transfer bound to one channel. */
export class FileChannel implements Channel {
  readonly sessionId: string;
  #closed = false;
  #fh: FileHandle | undefined;
  #written = 0;
  #writes: Promise<void> = Promise.resolve();
  #sender: CreditSender | undefined;
  #stream: ReturnType<typeof createReadStream> | undefined;

  private constructor(
    private readonly session: Session,
    private readonly msg: FileOpen,
    private readonly path: string,
    private readonly maxBytes: number,
    private readonly logger: Logger,
    private readonly onGone: () => void,
  ) {
    this.sessionId = msg.sessionId;
  }

  /** Opens the file and answers `file.opened`; throws a coded error to refuse. */
  static async start(
    session: Session,
    msg: FileOpen,
    path: string,
    maxBytes: number,
    logger: Logger,
    onGone: () => void,
  ): Promise<FileChannel> {
    const ch = new FileChannel(session, msg, path, maxBytes, logger, onGone);
    try {
      if (msg.direction === 'download') await ch.#startDownload();
      else await ch.#startUpload();
    } catch (err) {
      // A refusal after the file was opened (not a regular file, resume offset conflict) must not keep it open.
      const fh = ch.#fh;
      ch.#fh = undefined;
      ch.#closed = true;
      await fh?.close().catch(() => undefined);
      throw err;
    }
    return ch;
  }

  async #startDownload(): Promise<void> {
    const fh = await open(this.path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    const st = await fh.stat().finally(() => fh.close());
    if (!st.isFile()) throw new OutpostError('OUTPOST_E_PATH_REFUSED', { message: 'not a regular file' });
    if (st.size > this.msg.size)
      throw new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', { message: `file is ${st.size} bytes, over the limit` });
    if (this.msg.offset > st.size)
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: 'resume offset is past the end of the file' });
    this.session.send({ type: 'file.opened', channel: this.msg.channel, sessionId: this.msg.sessionId, size: st.size });
    const stream = createReadStream(this.path, { start: this.msg.offset, highWaterMark: 64 * 1024 });
    this.#stream = stream;
    const sender = new CreditSender(this.msg.channel, (f) => this.session.sendFrame(f), {
      pause: () => stream.pause(),
      resume: () => stream.resume(),
    });
    this.#sender = sender;
    stream.on('data', (d) => sender.write(d as Buffer));
    stream.on('error', (err) => this.#fail(err));
    stream.on('end', () => void this.#finishDownload(st.size));
  }

  async #finishDownload(size: number): Promise<void> {
    await this.#sender!.end();
    if (this.#closed) return;
    await this.#done(size);
  }

  async #startUpload(): Promise<void> {
    if (this.msg.size > this.maxBytes)
      throw new OutpostError('OUTPOST_E_PAYLOAD_TOO_LARGE', {
        message: `upload of ${this.msg.size} bytes is over the agent limit`,
      });
    const fh = await open(this.path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o600);
    this.#fh = fh;
    const st = await fh.stat();
    if (!st.isFile()) throw new OutpostError('OUTPOST_E_PATH_REFUSED', { message: 'not a regular file' });
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
      this.#writes = this.#writes.then(async () => {
        await fh.write(data, 0, data.length, at);
        this.session.sendFrame(encodeCredit(this.msg.channel, data.length));
      });
      this.#writes.catch((err: unknown) => this.#fail(err));
      return;
    }
    if (frame.kind === FrameKind.End) {
      this.#writes = this.#writes.then(async () => {
        await fh.sync();
        await fh.close();
        this.#fh = undefined;
        await this.#done(this.#written);
      });
      this.#writes.catch((err: unknown) => this.#fail(err));
    }
  }

  async #done(size: number): Promise<void> {
    const sha256 = await sha256File(this.path);
    if (this.#closed) return;
    this.#closed = true;
    this.session.send({ type: 'file.done', channel: this.msg.channel, sessionId: this.msg.sessionId, size, sha256 });
    this.logger.info({ sessionId: this.msg.sessionId, direction: this.msg.direction, size }, 'file transfer done');
    this.onGone();
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    const e =
      err instanceof OutpostError
        ? err
        : new OutpostError('OUTPOST_E_INTERNAL', { cause: err, message: String((err as Error)?.message ?? err) });
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
    this.#stream?.destroy();
    this.#stream = undefined;
    const fh = this.#fh;
    this.#fh = undefined;
    void this.#writes.finally(() => fh?.close().catch(() => undefined));
    this.logger.debug({ sessionId: this.msg.sessionId, reason }, 'file channel closed');
    this.onGone();
  }
}
