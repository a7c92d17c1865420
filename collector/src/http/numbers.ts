/**
 * Refuses requests whose validated query, parameters or body hold a number that is not finite or not a safe
 * integer in size. Ajv's type coercion turns the strings `1e999`, `Infinity` and `-1e999` into ±Infinity and then
 * skips `minimum` and `maximum` (its range checks only run on finite numbers), so `?limit=1e999` passed a
 * `maximum: 1000` schema and reached SQLite as a LIMIT it cannot bind (ajv-validator/ajv#2212,
 * fastify/fastify#6718; no option fixes it). An unbounded integer such as `?offset=1e32` reached SQLite the same way.
 * JSON cannot carry a non-finite number, and no Outpost field (counts, epoch milliseconds) needs more than 2^53.
 */
import { OutpostError } from '@outpost/shared';
import type { FastifyRequest } from 'fastify';

/** The path (`/a/0/b`) of the first number inside `value` that is not finite or beyond ±(2^53 − 1), if any. */
export function unsafeNumberPath(value: unknown): string | undefined {
  // Iterative: a body is only walked after it validated, but a free-form field could still nest deeply.
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === 'number') {
      if (!(Math.abs(v) <= Number.MAX_SAFE_INTEGER)) return path || '/';
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) stack.push([child, `${path}/${k}`]);
    }
  }
  return undefined;
}

/** A `preHandler` hook: after validation (and its coercion), before any handler sees the request. */
export async function rejectUnsafeNumbers(req: FastifyRequest): Promise<void> {
  // A raw upload's body is its stream (updates' octet-stream parser): bytes, not numbers, and a graph of sockets
  // and servers that must not be walked.
  const body = req.body as { pipe?: unknown } | null | undefined;
  const parts: [string, unknown][] = [
    ['querystring', req.query],
    ['params', req.params],
    ['body', typeof body?.pipe === 'function' ? undefined : body],
  ];
  for (const [context, value] of parts) {
    const path = unsafeNumberPath(value);
    if (path !== undefined) {
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: `Request ${context}${path === '/' ? '' : path} must be a finite number between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`,
        details: { context },
      });
    }
  }
}
