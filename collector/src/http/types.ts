/** Fastify typing shared by every concern's routes: the TypeBox provider and what authentication adds. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Actor } from '../auth/permissions.js';

/** The fastify instance type every route plugin receives. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, set by authentication; null only on public routes. */
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    /** Route is reachable without authentication (kept to a short, tested allow-list). */
    public?: boolean;
  }
}
