/**
 * ssh's escape for a terminal session: `~.` at the start of a line ends the session from this side, whatever the
 * remote end is doing (a wedged program, a shell that ignores Ctrl-C); `~~` sends one `~`. "Start of a line" is
 * the first key of the session or the key after Enter, as in ssh, so a `~` typed inside a line or a path is sent
 * as it is. Only for a terminal: piped input is data, and a line of it starting with `~.` must not end anything.
 */
const TILDE = 0x7e;
const DOT = 0x2e;

export class EscapeFilter {
  #atLineStart = true;
  /** A `~` at the start of a line, held until the next key says what it means. */
  #held = false;

  /** The bytes to send for `input`, and whether the technician asked to disconnect (bytes after `~.` are dropped). */
  filter(input: Buffer): { send: Buffer; disconnect: boolean } {
    const out: number[] = [];
    for (const b of input) {
      if (this.#held) {
        this.#held = false;
        if (b === DOT) return { send: Buffer.from(out), disconnect: true };
        out.push(TILDE);
        if (b === TILDE) {
          this.#atLineStart = false;
          continue;
        }
      } else if (this.#atLineStart && b === TILDE) {
        this.#held = true;
        continue;
      }
      out.push(b);
      this.#atLineStart = b === 0x0d || b === 0x0a;
    }
    return { send: Buffer.from(out), disconnect: false };
  }
}
