/**
 * Session recording as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then
 * `[seconds, "o"|"i"|"r", data]` events, gzip-compressed as it is written. Output is decoded as UTF-8 with a
 * streaming decoder so a character split across frames is not mangled.
 *
 * Off the relay's hot path: an event only stores its time and a reference to the frame's bytes; decoding, JSON
 * and one gzip write per batch happen on a timer (or once a batch is large), and gzip runs at level 1, which
 * keeps terminal text small at a fraction of the CPU of the default level.
 */
import { createWriteStream, mkdirSync, readFileSync, renameSync, type WriteStream, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createGzip, type Gzip, gunzipSync, gzipSync, constants as zlib } from 'node:zlib';
import { OutpostError } from '@outpost/shared';

/** A batch is written after this long, or sooner once it holds BATCH_BYTES. */
const BATCH_MS = 50;
const BATCH_BYTES = 256 * 1024;

/** What the header carries. */
export interface CastHeader {
  cols: number;
  rows: number;
  startedAt: number;
  title: string;
}

/** Writes one recording; `failed` turns true on the first storage error. */
export class CastRecorder {
  readonly #gzip: Gzip;
  readonly #file: WriteStream;
  readonly #out = new StringDecoder('utf8');
  readonly #in = new StringDecoder('utf8');
  #failed: Error | undefined;
  #ended = false;
  /** The latest event time written, so the trailing flush on close never goes back in time. */
  #lastT = 0;
  /** Events waiting for the next batch. */
  #batch: [number, 'o' | 'i', Uint8Array][] = [];
  #batchBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly done: Promise<number>;

  private constructor(
    readonly path: string,
    private readonly startedAt: number,
    private readonly onFail: (err: Error) => void,
  ) {
    this.#gzip = createGzip({ level: 1 });
    this.#file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.#gzip.pipe(this.#file);
    const fail = (err: Error) => {
      if (this.#failed) return;
      this.#failed = err;
      this.onFail(err);
    };
    this.#gzip.on('error', fail);
    this.#file.on('error', fail);
    this.done = new Promise((resolve) => {
      this.#file.on('close', () => resolve(this.#file.bytesWritten));
      this.#file.on('error', () => resolve(this.#file.bytesWritten));
    });
  }

  /** Opens the file (synchronously checks the directory) and writes the header. */
  static open(path: string, header: CastHeader, onFail: (err: Error) => void): CastRecorder {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_RECORDING_FAILED', { cause, message: `cannot create ${dirname(path)}` });
    }
    const r = new CastRecorder(path, header.startedAt, onFail);
    r.#line({
      version: 2,
      width: header.cols,
      height: header.rows,
      timestamp: Math.floor(header.startedAt / 1000),
      title: header.title,
      env: { TERM: 'xterm-256color' },
    });
    return r;
  }

  get failed(): Error | undefined {
    return this.#failed;
  }

  #line(value: unknown): void {
    this.#flush();
    if (this.#ended || this.#failed) return;
    this.#gzip.write(`${JSON.stringify(value)}\n`);
    this.#gzip.flush(zlib.Z_SYNC_FLUSH);
  }

  #add(now: number, kind: 'o' | 'i', data: Uint8Array): void {
    if (this.#ended || this.#failed || data.byteLength === 0) return;
    this.#batch.push([this.#t(now), kind, data]);
    this.#batchBytes += data.byteLength;
    if (this.#batchBytes >= BATCH_BYTES) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), BATCH_MS).unref();
  }

  /** Writes the batch as one gzip write. */
  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.length === 0) return;
    const events = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    if (this.#ended || this.#failed) return;
    let text = '';
    for (const [t, kind, data] of events) {
      const dec = kind === 'o' ? this.#out : this.#in;
      const s = dec.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      if (s) text += `${JSON.stringify([t, kind, s])}\n`;
    }
    if (text) {
      this.#gzip.write(text);
      // A sync flush per batch puts every batch in the file as it is written: a collector killed mid-session
      // (SIGKILL, power loss) leaves a recording that `salvageCast` can replay up to its last batch, instead of
      // one whose compressed tail (minutes of a quiet session) died in zlib's buffers.
      this.#gzip.flush(zlib.Z_SYNC_FLUSH);
    }
  }

  /** Seconds since the start, never less than an earlier event's (asciicast players expect a monotonic clock). */
  #t(now: number): number {
    this.#lastT = Math.max(this.#lastT, (now - this.startedAt) / 1000);
    return this.#lastT;
  }

  /** Terminal output (`data` must not be modified afterwards: it is read when the batch is written). */
  output(now: number, data: Uint8Array): void {
    this.#add(now, 'o', data);
  }

  /** Technician input (same rule as `output`). */
  input(now: number, data: Uint8Array): void {
    this.#add(now, 'i', data);
  }

  resize(now: number, cols: number, rows: number): void {
    this.#line([this.#t(now), 'r', `${cols}x${rows}`]);
  }

  /** Bytes waiting in memory (compression or disk behind). */
  get pendingBytes(): number {
    return this.#batchBytes + this.#gzip.writableLength + this.#file.writableLength;
  }

  /** Flushes and closes; resolves with the compressed size. */
  async close(): Promise<number> {
    if (!this.#ended) {
      this.#flush();
      const rest = this.#out.end();
      if (rest) this.#line([this.#lastT, 'o', rest]);
      this.#ended = true;
      this.#gzip.end();
    }
    return this.done;
  }
}

/** What `salvageCast` kept of a recording cut short. */
export interface Salvaged {
  /** Events kept (after the header). */
  events: number;
  /** Time of the last kept event, in seconds from the start. */
  lastT: number;
  /** Size of the rewritten (gzip) file. */
  bytes: number;
}

/**
 * Makes a recording whose writer died (collector SIGKILLed) playable: decompresses what reached the disk (a gzip
 * stream with no end), keeps the header and every complete, well-formed event line up to the first that is not
 * (the last one is usually cut), and rewrites the file as a complete gzip (atomically). Undefined when not even
 * the header survived.
 */
export function salvageCast(path: string): Salvaged | undefined {
  let text: string;
  try {
    text = gunzipSync(readFileSync(path), { finishFlush: zlib.Z_SYNC_FLUSH }).toString('utf8');
  } catch {
    return undefined;
  }
  const kept: string[] = [];
  let lastT = 0;
  // Only lines followed by a newline were written whole; a line cut mid-character decodes to U+FFFD and fails below.
  const lines = text.split('\n').slice(0, -1);
  for (const [i, line] of lines.entries()) {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      break;
    }
    if (i === 0) {
      if (typeof v !== 'object' || v === null || (v as { version?: unknown }).version !== 2) return undefined;
    } else {
      if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[2] !== 'string') break;
      lastT = v[0];
    }
    kept.push(line);
  }
  if (kept.length === 0) return undefined;
  const gz = gzipSync(`${kept.join('\n')}\n`, { level: 1 });
  const tmp = `${path}.salvage`;
  writeFileSync(tmp, gz, { mode: 0o600 });
  renameSync(tmp, path);
  return { events: kept.length - 1, lastT, bytes: gz.byteLength };
}
