/**
 * The technician sockets (`/api/v1/agents/:id/shell`, `/api/v1/sessions/:id/join`, `/api/v1/agents/:id/files`):
 * binary frames in the shared
 * format on channel 1 carry the terminal bytes and credits; text frames carry these JSON control messages.
 */

import { MessageDecoder } from '@outpost/shared';
import { type Static, Type } from '@sinclair/typebox';

/** The channel id on a technician socket. */
export const TECH_CHANNEL = 1;
/** Input bytes a technician may have in flight before the agent acknowledges them. */
export const INPUT_WINDOW_BYTES = 64 * 1024;

const Dim = Type.Integer({ minimum: 1, maximum: 1000 });

/** Technician → collector. */
export const TechMessage = Type.Union([
  Type.Object({ type: Type.Literal('session.resize'), cols: Dim, rows: Dim }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('session.close') }, { additionalProperties: false }),
]);
export type TechMessage = Static<typeof TechMessage>;

/** Collector → technician. */
export type ServerMessage =
  | { type: 'session.ready'; sessionId: string; runAs: string; readOnly: boolean }
  | { type: 'session.exit'; exitCode: number; signal: number }
  | { type: 'session.error'; code: string; message: string }
  /** A file transfer is open: download `size` is the file's size, upload `offset` what the agent kept (resume). */
  | { type: 'transfer.ready'; sessionId: string; size: number; offset: number }
  /** The transfer finished: the agent's size and SHA-256 of the whole file. */
  | { type: 'transfer.done'; sessionId: string; size: number; sha256: string };

/** The most bytes (UTF-8) a WebSocket close reason may have; `ws` throws on a longer one. */
const CLOSE_REASON_MAX_BYTES = 123;

/**
 * A close reason cut to 123 UTF-8 bytes. Reasons carry agent text (a refusal message), so cutting by characters is
 * not enough: 123 characters of `é` are 246 bytes, and `ws.close` would throw instead of closing the socket.
 */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= CLOSE_REASON_MAX_BYTES) return text;
  let out = text.slice(0, CLOSE_REASON_MAX_BYTES);
  while (Buffer.byteLength(out) > CLOSE_REASON_MAX_BYTES) out = out.slice(0, -1);
  // Never end on half a surrogate pair (it would be sent as U+FFFD, three bytes more than counted).
  const last = out.charCodeAt(out.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? out.slice(0, -1) : out;
}

/** Decoder for technician control messages. */
export const techMessages = new MessageDecoder(TechMessage);
