import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type StopReason, watchStopChannel } from './stop-channel.js';

function channel() {
  const input = new PassThrough();
  const reasons: StopReason[] = [];
  const unwatch = watchStopChannel(input, (r) => reasons.push(r));
  return { input, reasons, unwatch };
}

describe('stop channel', () => {
  it('stops once at a "stop" line, even split across writes and with CRLF', async () => {
    const c = channel();
    c.input.write('hello\nst');
    await new Promise((r) => setImmediate(r));
    expect(c.reasons).toEqual([]);
    c.input.write('op\r\nstop\n');
    c.input.end();
    await new Promise((r) => setImmediate(r));
    expect(c.reasons).toEqual(['stop']);
  });

  it('stops when the host closes the channel without a word', async () => {
    const c = channel();
    c.input.end('noise\n');
    c.input.resume();
    // The stream's end is delivered on a later tick; a few ms are enough and no event of ours marks it.
    await new Promise((r) => setTimeout(r, 10));
    expect(c.reasons).toEqual(['eof']);
  });

  it('ignores an overlong line that ends in "stop" and lines that only contain it', async () => {
    const c = channel();
    c.input.write(`${'x'.repeat(1000)}stop\nstopped\nplease stop\n`);
    await new Promise((r) => setImmediate(r));
    expect(c.reasons).toEqual([]);
    c.unwatch();
    c.input.end('stop\n');
    await new Promise((r) => setImmediate(r));
    expect(c.reasons).toEqual([]);
  });
});
