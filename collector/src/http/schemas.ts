/** Response schemas several concerns use. Responses are allow-lists: a field not declared is never sent. */
import { Type } from '@sinclair/typebox';

/** The body of every error response. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    hint: Type.String(),
    requestId: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});

/** Standard error responses to merge into a route's `response` map. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
} as const;

/** `{ ok: true }` for actions with nothing else to say. */
export const Ok = Type.Object({ ok: Type.Literal(true) });

/** Pagination limit for list endpoints. */
export const Limit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 });

/** A nullable string. */
export const NullableString = Type.Union([Type.String(), Type.Null()]);

/** A nullable epoch-millisecond time. */
export const NullableTime = Type.Union([Type.Integer(), Type.Null()]);
