/**
 * The technician sockets (`/api/v1/agents/:id/shell`, `/api/v1/sessions/:id/join`, `/api/v1/agents/:id/files`):
 * binary frames in the shared
 * format on channel 1 carry the terminal bytes and credits; text frames carry these JSON control messages.
 */

import { MessageDecoder, OutpostError } from '@outpost/shared';
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

const Str = (maxLength: number) => Type.String({ maxLength });
const Size = Type.Integer({ minimum: 0 });

/**
 * Collector → technician, one schema per message so a client (the CLI) validates what it reads instead of casting
 * it. Fields may be added later: a client checks the fields it knows and ignores the others.
 */
export const ServerMessage = Type.Union([
  Type.Object({
    type: Type.Literal('session.ready'),
    sessionId: Str(64),
    runAs: Str(256),
    readOnly: Type.Boolean(),
  }),
  Type.Object({ type: Type.Literal('session.exit'), exitCode: Type.Integer(), signal: Type.Integer() }),
  Type.Object({ type: Type.Literal('session.error'), code: Str(64), message: Str(4096) }),
  /** A file transfer is open: download `size` is the file's size, upload `offset` what the agent kept (resume). */
  Type.Object({ type: Type.Literal('transfer.ready'), sessionId: Str(64), size: Size, offset: Size }),
  /** The transfer finished: the agent's size and SHA-256 of the whole file. */
  Type.Object({
    type: Type.Literal('transfer.done'),
    sessionId: Str(64),
    size: Size,
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  }),
]);
export type ServerMessage = Static<typeof ServerMessage>;

const serverMessages = new MessageDecoder(ServerMessage);
const SERVER_TYPES = new Set(ServerMessage.anyOf.map((m) => m.properties.type.const as string));

/**
 * A control message as a technician client reads it: undefined for a type this client does not know (a newer
 * collector's), OUTPOST_E_BAD_MESSAGE for a known type that does not match its schema or for text that is not JSON.
 */
export function readServerMessage(text: string): ServerMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_BAD_MESSAGE', {
      cause,
      message: 'The collector sent a control frame that is not JSON',
    });
  }
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !SERVER_TYPES.has(type)) return undefined;
  return serverMessages.check(value);
}

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
