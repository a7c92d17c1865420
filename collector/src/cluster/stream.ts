/**
 * A byte stream relayed between two collector nodes (shell or file bytes between the technician's node and the
 * agent's), with credit-based flow control: a side sends only while it holds credit, and the other side grants credit
 * back as its consumer reads. A slow technician therefore stalls the agent's side instead of growing memory
 * anywhere: at most `windowBytes` are in flight or queued at the receiver per direction, and a writer's `write()` only
 * resolves once its bytes went out. Frames carry a sequence number (a gap — a slow consumer dropped by the NATS
 * server — ends the stream instead of corrupting it); keep-alive pings let a side notice its peer's node died.
 * Protocol in docs/0017-nodes.md.
 */
import { type ErrorCode, isErrorCode, OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { BusTransport } from './transport.js';
import { decode, decoders, encode, type StreamControl, type StreamSide, type Subjects } from './wire.js';

/** Flow control and liveness settings of a stream. */
export interface StreamOptions {
  /** Bytes a side may have sent and not yet had credited back (the receiver's queue bound). */
  windowBytes: number;
  /** Largest data frame payload. */
  frameBytes: number;
  /** A side that sent nothing for this long sends a ping. */
  keepaliveMs: number;
  /** A side that heard nothing for this long ends the stream with OUTPOST_E_NODE_LOST. */
  deadAfterMs: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  windowBytes: 256 * 1024,
  frameBytes: 32 * 1024,
  keepaliveMs: 1000,
  deadAfterMs: 5000,
};

/** What a stream is built from. */
export interface StreamInit {
  transport: BusTransport;
  subjects: Subjects;
  streamId: string;
  side: StreamSide;
  clock: Clock;
  logger: Logger;
  options: StreamOptions;
}

const DATA = 0;
const HEADER = 5;

interface QueuedWrite {
  bytes: Uint8Array;
  offset: number;
  resolve(): void;
  reject(err: Error): void;
}

/** One side of a relayed stream: write with `write()`, read with `for await` (or `read()`), finish with `close()`. */
export class BusStream implements AsyncIterable<Uint8Array> {
  readonly id: string;
  /** Resolves when the stream is over: undefined for a normal end, the coded reason otherwise. */
  readonly closed: Promise<OutpostError | undefined>;
  readonly #init: StreamInit;
  readonly #out: string;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #settle!: (err: OutpostError | undefined) => void;

  // Sending direction.
  #credit = 0;
  #opened = false;
  #sendSeq = 0;
  readonly #writes: QueuedWrite[] = [];
  #lastSentAt: number;

  // Receiving direction.
  #recvSeq = 0;
  #outstanding = 0;
  #consumed = 0;
  readonly #inbox: Uint8Array[] = [];
  #queued = 0;
  #wake: (() => void) | undefined;
  #lastHeardAt: number;
  #peerEnd: { seq: number; error: OutpostError | undefined } | undefined;

  #ending = false;
  #over: { error: OutpostError | undefined } | undefined;

  constructor(init: StreamInit) {
    this.#init = init;
    this.id = init.streamId;
    this.#out = init.subjects.stream(init.streamId, init.side === 'a' ? 'b' : 'a');
    this.#lastSentAt = this.#lastHeardAt = init.clock.now();
    this.closed = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  /** Subscribes to this side's subject; the acceptor (`b`) then tells the opener it may send. */
  async start(): Promise<void> {
    const { transport, subjects, streamId, side, options } = this.#init;
    this.#unsubscribe = transport.subscribe(subjects.stream(streamId, side), (data) => this.#onFrame(data));
    this.#timer = setInterval(() => this.#tick(), Math.max(10, Math.floor(options.keepaliveMs / 2)));
    if (side === 'b') {
      await transport.flush();
      this.#outstanding = options.windowBytes;
      this.#sendControl({ t: 'open', credit: options.windowBytes });
    }
  }

  /** Bytes waiting for credit on this side (what a stalled reader on the other side keeps here). */
  get bufferedBytes(): number {
    let n = 0;
    for (const w of this.#writes) n += w.bytes.length - w.offset;
    return n;
  }

  /** Bytes received and not yet read on this side (never more than the window). */
  get queuedBytes(): number {
    return this.#queued;
  }

  /**
   * Sends bytes; resolves once all of them went out under credit (await it: that is the backpressure). Until then
   * they may wait here for credit, by reference (as `socket.write` keeps them): a caller does not change them
   * meanwhile (the relay hands over a record built for this write and never touches it again).
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.#over || this.#ending)
      return Promise.reject(this.#over?.error ?? new OutpostError('OUTPOST_E_SESSION_ENDED'));
    if (bytes.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#writes.push({ bytes, offset: 0, resolve, reject });
      this.#pump();
    });
  }

  /** The next chunk read, or null at the end; throws the coded reason of an abnormal end. */
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#inbox.shift();
      if (chunk) {
        this.#queued -= chunk.length;
        this.#grant(chunk.length);
        return chunk;
      }
      if (this.#over) {
        if (this.#over.error) throw this.#over.error;
        return null;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (let c = await this.read(); c; c = await this.read()) yield c;
  }

  /**
   * Ends the stream for both sides. Without an error: what was written still goes out (as credit allows), then the
   * end; the peer reads everything before its end. With one: at once, and the peer ends with that code.
   */
  async close(err?: OutpostError): Promise<void> {
    if (this.#over) return;
    if (err) {
      this.#sendControl({ t: 'end', code: err.code, reason: err.message.slice(0, 1024), seq: this.#sendSeq });
      this.#finish(err);
      return;
    }
    this.#ending = true;
    await Promise.all(this.#writes.map((w) => new Promise<void>((r) => this.#chain(w, r))));
    if (this.#over) return;
    this.#sendControl({ t: 'end', seq: this.#sendSeq });
    this.#finish(undefined);
  }

  #chain(w: QueuedWrite, done: () => void): void {
    const { resolve, reject } = w;
    w.resolve = () => {
      resolve();
      done();
    };
    w.reject = (e) => {
      reject(e);
      done();
    };
  }

  /** Sends queued bytes while credit lasts. */
  #pump(): void {
    const { transport, options } = this.#init;
    while (this.#opened && this.#credit > 0 && !this.#over) {
      const w = this.#writes[0];
      if (!w) return;
      const n = Math.min(this.#credit, options.frameBytes, w.bytes.length - w.offset);
      const frame = new Uint8Array(HEADER + n);
      frame[0] = DATA;
      new DataView(frame.buffer).setUint32(1, ++this.#sendSeq >>> 0);
      frame.set(w.bytes.subarray(w.offset, w.offset + n), HEADER);
      transport.publish(this.#out, frame);
      this.#lastSentAt = this.#init.clock.now();
      this.#credit -= n;
      w.offset += n;
      if (w.offset === w.bytes.length) {
        this.#writes.shift();
        w.resolve();
      }
    }
  }

  /** The reader consumed `n` bytes: credit them back in batches (a quarter window), not one message per chunk. */
  #grant(n: number): void {
    this.#consumed += n;
    if (this.#over || this.#consumed < this.#init.options.windowBytes / 4) return;
    this.#outstanding += this.#consumed;
    this.#sendControl({ t: 'credit', credit: this.#consumed });
    this.#consumed = 0;
  }

  #onFrame(data: Uint8Array): void {
    if (this.#over) return;
    this.#lastHeardAt = this.#init.clock.now();
    try {
      if (data[0] === DATA) this.#onData(data);
      else this.#onControl(decode(decoders.streamControl, data));
    } catch (err) {
      const e =
        err instanceof OutpostError
          ? err
          : new OutpostError('OUTPOST_E_INTERNAL', { cause: err, message: 'stream frame handling failed' });
      this.#init.logger.warn({ streamId: this.id, code: e.code, reason: e.message }, 'relayed stream refused a frame');
      void this.close(e);
    }
  }

  #onData(frame: Uint8Array): void {
    if (frame.length < HEADER) throw broken('data frame shorter than its header');
    const seq = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1);
    if (seq !== (this.#recvSeq + 1) >>> 0) throw broken(`frame ${seq} arrived after ${this.#recvSeq}`);
    // A view: each message is its own buffer (NATS's parser never reuses one; the local transport copies).
    const bytes = frame.subarray(HEADER);
    if (bytes.length > this.#outstanding) throw broken(`${bytes.length} bytes sent on ${this.#outstanding} of credit`);
    this.#recvSeq = seq;
    this.#outstanding -= bytes.length;
    this.#inbox.push(bytes);
    this.#queued += bytes.length;
    this.#wakeReader();
  }

  #onControl(msg: StreamControl): void {
    switch (msg.t) {
      case 'open':
        if (this.#opened) throw broken('a second open');
        this.#opened = true;
        this.#credit += msg.credit;
        // The opener learns the acceptor is subscribed only now: its own window goes back in the same way.
        if (this.#init.side === 'a') {
          this.#outstanding = this.#init.options.windowBytes;
          this.#sendControl({ t: 'open', credit: this.#init.options.windowBytes });
        }
        this.#pump();
        return;
      case 'credit':
        this.#credit += msg.credit;
        this.#pump();
        return;
      case 'ping':
        return;
      case 'end':
        this.#onEnd(msg);
        return;
      default:
        msg satisfies never;
    }
  }

  #onEnd(msg: Extract<StreamControl, { t: 'end' }>): void {
    if (msg.code === undefined && msg.seq !== this.#recvSeq)
      throw broken(`ended at frame ${msg.seq}, ${this.#recvSeq} received`);
    const code: ErrorCode | undefined =
      msg.code === undefined ? undefined : isErrorCode(msg.code) ? msg.code : 'OUTPOST_E_INTERNAL';
    this.#peerEnd = {
      seq: msg.seq,
      error: code ? new OutpostError(code, { message: msg.reason ?? `peer ended the stream: ${code}` }) : undefined,
    };
    this.#finish(this.#peerEnd.error);
  }

  /** Keep-alive out, liveness in. */
  #tick(): void {
    const now = this.#init.clock.now();
    const { keepaliveMs, deadAfterMs } = this.#init.options;
    if (now - this.#lastHeardAt > deadAfterMs) {
      const err = new OutpostError('OUTPOST_E_NODE_LOST', {
        message: `the other node said nothing for ${now - this.#lastHeardAt} ms`,
        details: { streamId: this.id },
      });
      this.#init.logger.warn({ streamId: this.id, code: err.code }, 'relayed stream peer lost');
      this.#finish(err);
      return;
    }
    if (now - this.#lastSentAt >= keepaliveMs) this.#sendControl({ t: 'ping' });
  }

  #sendControl(msg: StreamControl): void {
    this.#init.transport.publish(this.#out, encode(msg));
    this.#lastSentAt = this.#init.clock.now();
  }

  #wakeReader(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** The stream is over: timers and subscription go, writers waiting for credit fail, the reader drains then ends. */
  #finish(error: OutpostError | undefined): void {
    if (this.#over) return;
    this.#over = { error };
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    const reason = error ?? new OutpostError('OUTPOST_E_SESSION_ENDED', { message: 'the stream ended' });
    for (const w of this.#writes.splice(0)) w.reject(reason);
    this.#wakeReader();
    this.#settle(error);
  }
}

const broken = (why: string) => new OutpostError('OUTPOST_E_BUS_STREAM', { message: `relayed stream broken: ${why}` });
