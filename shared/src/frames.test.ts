import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FRAME_HEADER_BYTES, FrameKind } from './frames.js';

describe('binary frames', () => {
  it.each(Object.entries(FrameKind))('round-trips a %s frame', (_name, kind) => {
    for (const channel of [0, 1, 0xffffffff]) {
      for (const payload of [new Uint8Array(0), Buffer.from('hello\r\n'), Buffer.alloc(1024 * 1024, 7)]) {
        const f = decodeFrame(encodeFrame(kind, channel, payload));
        expect(f.kind).toBe(kind);
        expect(f.channel).toBe(channel);
        expect(Buffer.from(f.payload).equals(Buffer.from(payload))).toBe(true);
      }
    }
  });

  it('decodes without copying the payload', () => {
    const buf = encodeFrame(FrameKind.Data, 3, Buffer.from('abc'));
    const f = decodeFrame(buf);
    expect(f.payload.buffer).toBe(buf.buffer);
    expect(f.payload.byteOffset).toBe(buf.byteOffset + FRAME_HEADER_BYTES);
  });

  it('refuses short frames, unknown versions and kinds, and bad channel ids', () => {
    expect(() => decodeFrame(new Uint8Array(5))).toThrow(expect.objectContaining({ code: 'OUTPOST_E_BAD_MESSAGE' }));
    const bad = encodeFrame(FrameKind.Data, 1);
    bad[0] = 2;
    expect(() => decodeFrame(bad)).toThrow(/version 2/);
    const kind = encodeFrame(FrameKind.Data, 1);
    kind[1] = 99;
    expect(() => decodeFrame(kind)).toThrow(/kind 99/);
    expect(() => encodeFrame(FrameKind.Data, -1)).toThrow(RangeError);
    expect(() => encodeFrame(FrameKind.Data, 2 ** 32)).toThrow(RangeError);
  });
});
