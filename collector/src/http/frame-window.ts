/**
 * A frame budget for a socket's hot path: at most `limit` frames in any stretch shorter than `windowMs` that starts
 * at the window's last reset. One counter and one comparison per frame; the clock is read only once the counter
 * passes the limit, so a shell relay pays nothing it can measure, and a flood is caught within one window.
 */
export class FrameWindow {
  #count = 0;
  #start: number;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {
    this.#start = now();
  }

  /** Counts one frame; false when more than `limit` frames arrived within `windowMs` of the window's start. */
  take(): boolean {
    if (++this.#count <= this.limit) return true;
    const now = this.now();
    if (now - this.#start < this.windowMs) return false;
    this.#start = now;
    this.#count = 1;
    return true;
  }
}
