/**
 * The local channel's messages (docs/0014-requests.md): one request per connection, newline-delimited JSON. The
 * agent speaks first (the proof name); the caller proves who it is, then asks to file a request or for a status.
 * Nothing else can be asked: a user on the machine can file requests, never drive the agent.
 */
import { MAX_REQUEST_TEXT, MessageDecoder, RequestRef } from '@outpost/shared';
import { type Static, Type } from '@sinclair/typebox';

/** The longest line either side sends (a request of 10 000 characters, every one escaped, fits). */
export const MAX_LINE_BYTES = 256 * 1024;

/** Caller → agent. */
export const LocalAsk = Type.Union([
  Type.Object(
    { op: Type.Literal('file'), text: Type.String({ minLength: 1, maxLength: MAX_REQUEST_TEXT }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      op: Type.Literal('status'),
      ticket: Type.Union([RequestRef, Type.String({ pattern: '^in_[0-9a-f]{1,32}$' })]),
    },
    { additionalProperties: false },
  ),
]);
export type LocalAsk = Static<typeof LocalAsk>;
export const localAsks = new MessageDecoder(LocalAsk);

/** A ticket as the user sees it. */
export interface LocalTicket {
  id: string;
  status: string;
  title: string;
  updatedAt: number;
}

/** Agent → caller. */
export type LocalAnswer =
  | { hello: 1; proof: string; dir: string }
  | { ok: true; ref: string; user: string; ticket: LocalTicket | null }
  | { ok: false; code: string; message: string };
