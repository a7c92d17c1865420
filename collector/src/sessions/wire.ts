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

/** Decoder for technician control messages. */
export const techMessages = new MessageDecoder(TechMessage);
