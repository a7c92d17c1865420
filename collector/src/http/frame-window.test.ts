import { describe, expect, it } from 'vitest';
import { FrameWindow } from './frame-window.js';

describe('FrameWindow', () => {
  it('allows the limit within a window, refuses the next frame, and starts again once the window is over', () => {
    let now = 1000;
    const w = new FrameWindow(3, 1000, () => now);
    expect([w.take(), w.take(), w.take()]).toEqual([true, true, true]);
    now += 999;
    expect(w.take()).toBe(false);
    now += 1;
    expect(w.take()).toBe(true);
    expect([w.take(), w.take()]).toEqual([true, true]);
    expect(w.take()).toBe(false);
  });

  it('never refuses a steady rate under the limit, however long it runs', () => {
    let now = 0;
    const w = new FrameWindow(100, 1000, () => now);
    for (let i = 0; i < 100_000; i++) {
      now += 11; // about 91 frames a second
      expect(w.take()).toBe(true);
    }
  });
});
