/**
 * The sending half of a channel with credit-based flow control: bytes are queued, sent as Data frames only while
 * the receiver has granted credit, and the producer is told to pause when the queue passes its high-water mark
 * (so a slow technician pauses the PTY instead of growing buffers anywhere).
 */
import { encodeFrame, FrameKind } from './frames.js';
import { CHANNEL_MAX_FRAME_BYTES, CHANNEL_WINDOW_BYTES } from './protocol/shell.js';

/** A credit-gated sender for one channel. */
export class CreditSender {
  #credit: number;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #paused = false;
  #ended = false;
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

  /** Queues bytes and sends what the credit allows. */
  write(data: Buffer): void {
    if (this.#ended || data.length === 0) return;
    this.#queue.push(data);
    this.#queued += data.length;
    this.#flush();
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
    this.#queue.length = 0;
    this.#queued = 0;
    for (const w of this.#drainWaiters.splice(0)) w();
  }

  #flush(): void {
    while (this.#queue.length > 0 && this.#credit > 0) {
      const head = this.#queue[0]!;
      const n = Math.min(head.length, this.#credit, CHANNEL_MAX_FRAME_BYTES);
      const chunk = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(n);
      this.#queued -= n;
      this.#credit -= n;
      this.send(encodeFrame(FrameKind.Data, this.channel, chunk));
    }
    if (this.#paused && this.#queued < this.highWater / 4) {
      this.#paused = false;
      this.flow.resume();
    }
    if (this.#queued === 0) for (const w of this.#drainWaiters.splice(0)) w();
  }
}
