import { type TSchema, Type } from '@sinclair/typebox';

/** Options every message object uses: unknown fields are refused, so a payload cannot smuggle extra claims. */
export const strict = { additionalProperties: false } as const;

/** A bounded string: agent-supplied text is hostile until proven otherwise. */
export const Str = (maxLength: number, minLength = 0) => Type.String({ maxLength, minLength });

/** Milliseconds since the Unix epoch. */
export const EpochMs = Type.Integer({ minimum: 0, maximum: 8.64e15 });

/**
 * A count, size, offset or identifier a peer sends: a non-negative integer that stays exact in JavaScript. JSON
 * Schema's `integer` alone takes 1e300, past which arithmetic, comparisons and SQLite bindings go wrong.
 */
export const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** A per-agent stream sequence number (1, 2, 3…). */
export const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

/** base64url without padding. */
export const Base64Url = (maxLength: number) => Type.String({ pattern: '^[A-Za-z0-9_-]*$', maxLength, minLength: 1 });

/** An agent id as assigned by the collector at enrollment. */
export const AgentId = Type.String({ pattern: '^ag_[0-9a-f]{24}$' });

/** Builds a message schema: a `type` literal plus its fields, with unknown fields refused. */
export function message<T extends string, P extends Record<string, TSchema>>(type: T, props: P) {
  return Type.Object({ type: Type.Literal(type), ...props }, strict);
}
