/**
 * The sending half of a channel with credit-based flow control: bytes are queued, sent as Data frames only while
 * the receiver has granted credit, and the producer is told to pause when the queue passes its high-water mark
 * (so a slow technician pauses the PTY instead of growing buffers anywhere).
 *
 * Small writes are coalesced into frames of up to CHANNEL_MAX_FRAME_BYTES, the way Nagle's algorithm does for
 * TCP: a PTY hands its output over in reads of about 4 KiB, and every frame costs a WebSocket header, a TLS record
 * and work at each hop. While output streams (the last frame was large and left less than COALESCE_MS ago, or
 * bytes already wait for credit) bytes wait up to COALESCE_MS for more, or leave as soon as a full frame is queued
 * (a credit grant then sends full frames only); otherwise (a keystroke's echo, a prompt, typing at any speed) they
 * leave at once.
 */
import { encodeFrame, FRAME_HEADER_BYTES, FRAME_VERSION, FrameKind } from './frames.js';
import { CHANNEL_MAX_FRAME_BYTES, CHANNEL_WINDOW_BYTES } from './protocol/shell.js';

/** While output streams, bytes wait this long (ms) for more to fill a frame. */
const COALESCE_MS = 1;
/** A frame at least this large counts as streaming output (PTY reads are about 4 KiB; echoes are bytes). */
const STREAMING_FRAME_BYTES = 2048;

/** A credit-gated sender for one channel. */
export class CreditSender {
  #credit: number;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #paused = false;
  #ended = false;
  /** The pending flush, when one is scheduled. */
  #scheduled: { cancel(): void } | undefined;
  /** When the last Data frame left (performance.now()) and its size. */
  #lastSent = -Infinity;
  #lastSize = 0;
  #drainWaiters: (() => void)[] = [];

  constructor(
    private readonly channel: number,
    private readonly send: (frame: Buffer) => void,
    private readonly flow: { pause(): void; resume(): void },
    window = CHANNEL_WINDOW_BYTES,
    private readonly highWater = 64 * 1024,
  ) {
    this.#credit = window;
  }

  /** Bytes waiting for credit. */
  get queued(): number {
    return this.#queued;
  }

  /** Credit left. */
  get credit(): number {
    return this.#credit;
  }

  /** Queues bytes; what the credit allows leaves at once (a keystroke's echo) or within COALESCE_MS (streaming). */
  write(data: Buffer): void {
    if (this.#ended || data.length === 0) return;
    // Bytes already queued wait for credit or for the coalescing timer: this write joins them, it does not
    // overtake the coalescing with a partial frame of its own.
    const waiting = this.#queued > 0;
    this.#queue.push(data);
    this.#queued += data.length;
    if (this.#queued >= CHANNEL_MAX_FRAME_BYTES && this.#credit >= CHANNEL_MAX_FRAME_BYTES) this.#flush(true);
    if (this.#queued > 0 && !this.#scheduled) {
      const streaming =
        waiting || (this.#lastSize >= STREAMING_FRAME_BYTES && performance.now() - this.#lastSent < COALESCE_MS);
      if (streaming) {
        const t = setTimeout(() => {
          this.#scheduled = undefined;
          this.#flush(false);
        }, COALESCE_MS);
        this.#scheduled = { cancel: () => clearTimeout(t) };
      } else this.#flush(false);
    }
    if (!this.#paused && this.#queued > this.highWater) {
      this.#paused = true;
      this.flow.pause();
    }
  }

  /**
   * The receiver consumed `n` bytes. While output streams (the coalescing timer runs) only full frames leave
   * now: a grant arrives every quarter window, and flushing the partial frame behind the full ones halved the
   * average frame during bulk output (each frame costs a WebSocket header, a TLS record and JS work per hop).
   */
  grant(n: number): void {
    this.#credit += n;
    this.#flush(this.#scheduled !== undefined);
  }

  /** Resolves once everything queued has been sent. */
  drained(): Promise<void> {
    if (this.#queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Sends the End frame after the queue drains. */
  async end(): Promise<void> {
    await this.drained();
    if (this.#ended) return;
    this.#ended = true;
    this.send(encodeFrame(FrameKind.End, this.channel));
  }

  /** Drops everything (the channel closed). */
  abort(): void {
    this.#ended = true;
    this.#flush();
    this.#queue.length = 0;
    this.#queued = 0;
    for (const w of this.#drainWaiters.splice(0)) w();
  }

  /** Sends what the credit allows; `fullOnly` leaves a partial last frame queued for the pending timer. */
  #flush(fullOnly = false): void {
    if (!fullOnly) {
      this.#scheduled?.cancel();
      this.#scheduled = undefined;
    }
    if (this.#ended) return;
    while (this.#queue.length > 0 && this.#credit > 0) {
      const n = Math.min(this.#queued, this.#credit, CHANNEL_MAX_FRAME_BYTES);
      if (fullOnly && n < CHANNEL_MAX_FRAME_BYTES) break;
      // One copy: the queued chunks go straight behind the header of the frame they share.
      const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n);
      frame[0] = FRAME_VERSION;
      frame[1] = FrameKind.Data;
      frame.writeUInt32BE(this.channel, 2);
      let at = FRAME_HEADER_BYTES;
      while (at < frame.length) {
        const head = this.#queue[0]!;
        const take = Math.min(head.length, frame.length - at);
        frame.set(take === head.length ? head : head.subarray(0, take), at);
        if (take === head.length) this.#queue.shift();
        else this.#queue[0] = head.subarray(take);
        at += take;
      }
      this.#queued -= n;
      this.#credit -= n;
      this.#lastSent = performance.now();
      this.#lastSize = n;
      this.send(frame);
    }
    if (this.#paused && this.#queued < this.highWater / 4) {
      this.#paused = false;
      this.flow.resume();
    }
    if (this.#queued === 0) for (const w of this.#drainWaiters.splice(0)) w();
  }
}
