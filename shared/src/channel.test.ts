import { describe, expect, it } from 'vitest';
import { CreditSender } from './channel.js';
import { decodeFrame, FrameKind } from './frames.js';
import { CHANNEL_MAX_FRAME_BYTES } from './protocol/shell.js';

function sender(window: number, highWater = 64 * 1024) {
  const frames: Buffer[] = [];
  const flow = { paused: false, pause: () => (flow.paused = true), resume: () => (flow.paused = false) };
  const s = new CreditSender(7, (f) => frames.push(f), flow, window, highWater);
  const payloads = () => frames.map((f) => decodeFrame(f)).filter((f) => f.kind === FrameKind.Data);
  return { s, frames, flow, payloads };
}

describe('CreditSender', () => {
  it('sends an echo at once and coalesces streaming output into larger frames, in order', async () => {
    const { s, payloads } = sender(1024 * 1024);
    s.write(Buffer.from('x'));
    expect(payloads().map((f) => Buffer.from(f.payload).toString())).toEqual(['x']);
    s.write(Buffer.alloc(4096, 'a')); // a PTY-sized read: streaming starts
    s.write(Buffer.from('bc'));
    s.write(Buffer.from('d'));
    expect(payloads()).toHaveLength(2);
    // The sender coalesces on a timer of its own (a few ms): this is that timer firing.
    await new Promise((r) => setTimeout(r, 5));
    expect(payloads().map((f) => Buffer.from(f.payload).toString().slice(-3))).toEqual(['x', 'aaa', 'bcd']);
    expect(payloads()[2]!.channel).toBe(7);
  });

  it('never sends past the credit, splits at the frame limit, and pauses then resumes the producer', async () => {
    const last = sender(100_000, 32 * 1024);
    const { s, flow, payloads } = last;
    s.write(Buffer.alloc(150_000, 1));
    expect(flow.paused).toBe(true);
    // The sender coalesces on a timer of its own (a few ms): this is that timer firing.
    await new Promise((r) => setTimeout(r, 5));
    const sent = payloads().reduce((n, f) => n + f.payload.byteLength, 0);
    expect(sent).toBe(100_000);
    expect(Math.max(...payloads().map((f) => f.payload.byteLength))).toBeLessThanOrEqual(CHANNEL_MAX_FRAME_BYTES);
    expect(s.queued).toBe(50_000);
    s.grant(50_000);
    expect(s.queued).toBe(0);
    expect(flow.paused).toBe(false);
    await s.end();
    const { frames } = last;
    expect(decodeFrame(frames.at(-1)!).kind).toBe(FrameKind.End);
  });

  it('while output streams, a credit grant sends full frames only and the rest leaves with the coalescing timer', async () => {
    const { s, payloads } = sender(CHANNEL_MAX_FRAME_BYTES, 1024 * 1024);
    s.write(Buffer.alloc(4096, 1)); // an idle channel: leaves at once
    s.write(Buffer.alloc(CHANNEL_MAX_FRAME_BYTES + 1000, 2)); // streaming, and past the credit left
    const sizes = () => payloads().map((f) => f.payload.byteLength);
    expect(sizes()).toEqual([4096]);
    s.grant(CHANNEL_MAX_FRAME_BYTES); // the consumer caught up while the output streams
    expect(sizes()).toEqual([4096, CHANNEL_MAX_FRAME_BYTES]);
    expect(s.queued).toBe(1000);
    // The sender coalesces on a timer of its own (a few ms): this is that timer firing.
    await new Promise((r) => setTimeout(r, 5));
    expect(sizes().reduce((a, b) => a + b, 0)).toBe(4096 + CHANNEL_MAX_FRAME_BYTES + 1000);
    expect(s.queued).toBe(0);
  });
});
