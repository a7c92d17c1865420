/**
 * The technician socket's binary frames, as `shared/src/frames.ts` defines them (version 1, kind, uint32 channel,
 * payload), written with Uint8Array for the browser. Channel 1 carries the terminal; Credit frames grant the agent
 * more output once xterm has drawn what it sent (backpressure end to end).
 */
export const TECH_CHANNEL = 1;
export const FRAME_DATA = 1;
export const FRAME_CREDIT = 2;
export const FRAME_END = 3;
/** Output credit goes back in batches of a quarter of the agent's 256 KiB window (as the CLI does). */
export const CREDIT_BATCH = 64 * 1024;
/** Input bytes in flight before the agent acknowledges them (the collector enforces 64 KiB). */
export const INPUT_WINDOW = 64 * 1024;

/** Encodes one frame on the terminal channel. */
export function frame(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + payload.byteLength);
  out[0] = 1;
  out[1] = kind;
  new DataView(out.buffer).setUint32(2, TECH_CHANNEL, false);
  out.set(payload, 6);
  return out;
}

/** A Credit frame granting `n` bytes. */
export function credit(n: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, n, false);
  return frame(FRAME_CREDIT, p);
}

/** Decodes a received frame; undefined for anything malformed (the socket is then closed by the caller). */
export function decode(data: ArrayBuffer): { kind: number; payload: Uint8Array } | undefined {
  const bytes = new Uint8Array(data);
  if (bytes.byteLength < 6 || bytes[0] !== 1) return undefined;
  const kind = bytes[1]!;
  if (kind !== FRAME_DATA && kind !== FRAME_CREDIT && kind !== FRAME_END) return undefined;
  return { kind, payload: bytes.subarray(6) };
}

/** A Credit frame's grant. */
export function readCredit(payload: Uint8Array): number {
  return payload.byteLength === 4 ? new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, false) : 0;
}

/** Server control messages on the socket's text frames (collector/src/sessions/wire.ts). */
export type ServerMessage =
  | { type: 'session.ready'; sessionId: string; runAs: string; readOnly: boolean }
  | { type: 'session.exit'; exitCode: number; signal: number }
  | { type: 'session.error'; code: string; message: string };
