/**
 * The sending half of a channel with credit-based flow control: bytes are queued, sent as Data frames only while
 * the receiver has granted credit, and the producer is told to pause when the queue passes its high-water mark
 * (so a slow technician pauses the PTY instead of growing buffers anywhere).
 *
 * Small writes are coalesced into frames of up to CHANNEL_MAX_FRAME_BYTES, the way Nagle's algorithm does for
 * TCP: a PTY hands its output over in reads of about 4 KiB, and every frame costs a WebSocket header, a TLS record
 * and work at each hop. While output streams (the last frame was large and left less than COALESCE_MS ago) bytes
 * wait up to COALESCE_MS for more, or leave as soon as a full frame is queued; otherwise (a keystroke's echo, a
 * prompt, typing at any speed) they leave at once.
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

  /** Queues bytes; what the credit allows leaves at the end of this turn of the event loop. */
  write(data: Buffer): void {
    if (this.#ended || data.length === 0) return;
    this.#queue.push(data);
    this.#queued += data.length;
    if (this.#queued >= CHANNEL_MAX_FRAME_BYTES && this.#credit >= CHANNEL_MAX_FRAME_BYTES) this.#flush();
    else if (!this.#scheduled) {
      const run = () => {
        this.#scheduled = undefined;
        this.#flush();
      };
      const streaming = this.#lastSize >= STREAMING_FRAME_BYTES && performance.now() - this.#lastSent < COALESCE_MS;
      if (streaming) {
        const t = setTimeout(run, COALESCE_MS);
        this.#scheduled = { cancel: () => clearTimeout(t) };
      } else this.#flush();
    }
    if (!this.#paused && this.#queued > this.highWater) {
      this.#paused = true;
      this.flow.pause();
    }
  }

  /** The receiver consumed `n` bytes. */
  grant(n: number): void {
    this.#credit += n;
    this.#flush();
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

  #flush(): void {
    this.#scheduled?.cancel();
    this.#scheduled = undefined;
    if (this.#ended) return;
    while (this.#queue.length > 0 && this.#credit > 0) {
      const n = Math.min(this.#queued, this.#credit, CHANNEL_MAX_FRAME_BYTES);
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
