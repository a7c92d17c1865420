/**
 * Bounded capture of a job's output: the first `headBytes` and the last `tailBytes` are kept, what lies between is
 * only counted. A job that prints gigabytes costs the agent head + tail bytes of memory, never more, and the report
 * still shows how it started and how it ended (docs/0010-jobs.md gives the sizes).
 */

/** Head and tail of a byte stream, and how much was dropped between them. */
export class BoundedOutput {
  readonly #head: Buffer;
  #headLen = 0;
  /** Bytes past the head, trimmed to the last `tailBytes` whenever it grows past twice that (amortised copies). */
  #tail: Buffer = Buffer.alloc(0);
  #total = 0;

  constructor(
    readonly headBytes: number,
    readonly tailBytes: number,
  ) {
    this.#head = Buffer.alloc(headBytes);
  }

  /** Appends a chunk. */
  write(chunk: Buffer): void {
    this.#total += chunk.length;
    let rest = chunk;
    if (this.#headLen < this.headBytes) {
      const n = Math.min(rest.length, this.headBytes - this.#headLen);
      rest.copy(this.#head, this.#headLen, 0, n);
      this.#headLen += n;
      rest = rest.subarray(n);
    }
    if (rest.length === 0 || this.tailBytes === 0) return;
    if (rest.length >= this.tailBytes) {
      this.#tail = Buffer.from(rest.subarray(rest.length - this.tailBytes));
      return;
    }
    this.#tail = Buffer.concat([this.#tail, rest]);
    if (this.#tail.length > 2 * this.tailBytes) this.#tail = Buffer.from(this.#tail.subarray(-this.tailBytes));
  }

  /** Every byte written. */
  get totalBytes(): number {
    return this.#total;
  }

  /** The kept text (UTF-8, a character cut at a boundary becomes U+FFFD) and the bytes dropped between. */
  result(): { head: string; tail: string; truncatedBytes: number } {
    const tail = this.#tail.length > this.tailBytes ? this.#tail.subarray(-this.tailBytes) : this.#tail;
    return {
      head: cutText(this.#head.subarray(0, this.#headLen), this.headBytes),
      tail: cutText(tail, this.tailBytes),
      truncatedBytes: this.#total - this.#headLen - tail.length,
    };
  }
}

/**
 * Decodes bytes and keeps the text within `maxChars` UTF-16 units (the schema bounds strings by length): decoding
 * can only keep or shrink the count, except for lone bytes turned into U+FFFD, one unit each.
 */
function cutText(bytes: Buffer, maxChars: number): string {
  const text = bytes.toString('utf8');
  return text.length > maxChars ? text.slice(0, maxChars) : text;
}
