/**
 * The binary frame format for channel data (remote-shell bytes, file and update chunks), so terminal traffic is
 * never JSON- or base64-encoded. Layout, big-endian:
 *
 *   byte 0     format version (1)
 *   byte 1     kind (FrameKind)
 *   bytes 2-5  channel id (uint32)
 *   bytes 6-   payload
 */
import { OutpostError } from './errors.js';

/** The frame format version this build writes and reads. */
export const FRAME_VERSION = 1;
/** Size of the header before the payload. */
export const FRAME_HEADER_BYTES = 6;

/** What a binary frame carries. */
export const FrameKind = {
  /** Channel bytes (terminal output or input, file chunk). */
  Data: 1,
  /** Flow control: the receiver consumed this many bytes (uint32 payload) and grants that much more credit. */
  Credit: 2,
  /** The sender will send no more data on this channel. */
  End: 3,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const kinds = new Set<number>(Object.values(FrameKind));

/** A decoded binary frame; `payload` is a view into the received buffer, not a copy. */
export interface ChannelFrame {
  kind: FrameKind;
  channel: number;
  payload: Uint8Array;
}

/** Encodes one frame. */
export function encodeFrame(kind: FrameKind, channel: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  if (!Number.isInteger(channel) || channel < 0 || channel > 0xffffffff) {
    throw new RangeError(`channel id out of range: ${channel}`);
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  out[0] = FRAME_VERSION;
  out[1] = kind;
  out.writeUInt32BE(channel, 2);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Decodes one frame; throws OUTPOST_E_BAD_MESSAGE on a short frame, unknown version or unknown kind. */
export function decodeFrame(data: Uint8Array): ChannelFrame {
  if (data.byteLength < FRAME_HEADER_BYTES) {
    throw new OutpostError('OUTPOST_E_BAD_MESSAGE', {
      message: `Binary frame of ${data.byteLength} bytes is shorter than its header`,
    });
  }
  if (data[0] !== FRAME_VERSION) {
    throw new OutpostError('OUTPOST_E_BAD_MESSAGE', { message: `Binary frame version ${data[0]} is not supported` });
  }
  const kind = data[1] as number;
  if (!kinds.has(kind)) {
    throw new OutpostError('OUTPOST_E_BAD_MESSAGE', { message: `Binary frame kind ${kind} is unknown` });
  }
  // Read by hand: a DataView per frame is an allocation at every hop of every chunk and keystroke.
  return {
    kind: kind as FrameKind,
    channel: ((data[2]! << 24) | (data[3]! << 16) | (data[4]! << 8) | data[5]!) >>> 0,
    payload: data.subarray(FRAME_HEADER_BYTES),
  };
}

/**
 * Rewrites the channel id of a received frame in place and returns the same buffer, so a relay forwards a frame
 * without copying its payload. The caller must own `data` (a buffer received from a socket, not reused elsewhere).
 */
export function rechannel(data: Buffer, channel: number): Buffer {
  data.writeUInt32BE(channel, 2);
  return data;
}

/** Encodes a Credit frame granting `n` more bytes on a channel. */
export function encodeCredit(channel: number, n: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(n, 0);
  return encodeFrame(FrameKind.Credit, channel, payload);
}

/** Reads a Credit frame's grant; undefined when the payload is not one uint32. */
export function readCredit(payload: Uint8Array): number | undefined {
  if (payload.byteLength !== 4) return undefined;
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, false);
}
