/**
 * The CLI's typed API client: `api(target, 'GET /api/v1/agents/:id', { params: { id } })` answers the type the
 * route's own response schema infers, so a hand-written response type cannot exist. Every JSON answer is checked
 * against that schema before the CLI reads it: a collector of another version that answers another shape gets a
 * coded `OUTPOST_E_BAD_RESPONSE` naming the route and the field, never a `TypeError` deep in a printer.
 * The check is a tolerant reader: fields the schema does not know are ignored (a newer collector may add some);
 * missing or mistyped ones are refused.
 */
import { OutpostError } from '@outpost/shared';
import type { Static, TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { API_ROUTES, type ApiRoute, type ApiRoutes } from '../api/routes.js';
import { type ApiTarget, apiCall, FileBody } from './client.js';

type PathOf<R extends string> = R extends `${string} ${infer P}` ? P : never;
type Segments<P extends string> = P extends `${infer A}/${infer B}` ? A | Segments<B> : P;
type ParamOf<S extends string> = S extends `:${infer N}` ? N : S extends '*' ? '*' : never;
/** The path parameters of a route (`:id` → `id`; a trailing `*` → `'*'`). */
export type RouteParams<R extends ApiRoute> = { [K in ParamOf<Segments<PathOf<R>>>]: string };
/** What a route answers: its schema's type, or text. */
export type RouteAnswer<R extends ApiRoute> = ApiRoutes[R] extends { response: infer S extends TSchema }
  ? Static<S>
  : string;

/** The parts of a call beside the route. */
export interface CallParts<R extends ApiRoute> {
  params: RouteParams<R>;
  /** Query values: absent, empty and `false` ones are left out; an array repeats the key. */
  query?: Record<string, unknown>;
  /** JSON body, or a file streamed as the raw body. */
  body?: unknown;
}
/** A route without path parameters may leave its parts out; one with parameters must name them. */
type PartsArg<R extends ApiRoute> = [keyof RouteParams<R>] extends [never]
  ? [parts?: Partial<CallParts<R>>]
  : [parts: CallParts<R>];

/** `?a=1&b=x&b=y` from defined values, or ''. */
export function queryString(params: Record<string, unknown> | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined || v === '' || v === false) continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The route's path with its parameters filled in, each encoded (a `*` tail segment by segment). */
export function routePath(route: ApiRoute, params: Record<string, string> = {}): string {
  const path = route.slice(route.indexOf(' ') + 1);
  return path
    .split('/')
    .map((seg) => {
      if (seg === '*') return (params['*'] ?? '').split('/').map(encodeURIComponent).join('/');
      if (!seg.startsWith(':')) return seg;
      const v = params[seg.slice(1)];
      if (v === undefined) throw new Error(`${route}: no value for ${seg}`);
      return encodeURIComponent(v);
    })
    .join('/');
}

const checkers = new Map<ApiRoute, TypeCheck<TSchema>>();

/** The schema with every `additionalProperties: false` lifted: fields a newer collector adds are not an error. */
function tolerant(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(tolerant);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string | symbol, unknown> = {};
  for (const key of Reflect.ownKeys(schema)) {
    const v = (schema as Record<string | symbol, unknown>)[key];
    if (key === 'additionalProperties' && v === false) continue;
    out[key] = tolerant(v);
  }
  return out;
}

/** The compiled (cached) check of a JSON route's answer. */
function checkerOf(route: ApiRoute, schema: TSchema): TypeCheck<TSchema> {
  let c = checkers.get(route);
  if (!c) {
    c = TypeCompiler.Compile(tolerant(schema) as TSchema);
    checkers.set(route, c);
  }
  return c;
}

/** The answer if it has the route's shape; else the coded error naming the route and the first wrong field. */
export function checkAnswer<R extends ApiRoute>(route: R, answer: unknown): RouteAnswer<R> {
  const spec: ApiRoutes[ApiRoute] = API_ROUTES[route];
  if (!('response' in spec)) {
    if (typeof answer === 'string') return answer as RouteAnswer<R>;
    throw badResponse(route, '', 'a text body was expected');
  }
  const check = checkerOf(route, spec.response);
  if (check.Check(answer)) return answer as RouteAnswer<R>;
  const first = check.Errors(answer).First();
  throw badResponse(route, first?.path ?? '', first?.message ?? 'unexpected shape');
}

function badResponse(route: ApiRoute, path: string, why: string): OutpostError {
  return new OutpostError('OUTPOST_E_BAD_RESPONSE', {
    message: `${route} answered a body this CLI does not understand${path ? ` at ${path}` : ''}: ${why}`,
    details: { route, ...(path ? { path } : {}) },
  });
}

/** Calls a route of the table and answers its checked, typed body. */
export async function api<R extends ApiRoute>(
  target: ApiTarget,
  route: R,
  ...args: PartsArg<R>
): Promise<RouteAnswer<R>> {
  const parts: Partial<CallParts<R>> = args[0] ?? {};
  const method = route.slice(0, route.indexOf(' '));
  const path = `${routePath(route, parts.params as Record<string, string> | undefined)}${queryString(parts.query)}`;
  const answer = await apiCall<unknown>(target, method, path, parts.body);
  return checkAnswer(route, answer);
}

/**
 * Calls a route for its text form (`format=csv|html` of a report, the Prometheus page, a recording): the body as
 * sent, unchecked — it is printed through the output module's escaping or written to a file.
 */
export async function apiText<R extends ApiRoute>(target: ApiTarget, route: R, ...args: PartsArg<R>): Promise<string> {
  const parts: Partial<CallParts<R>> = args[0] ?? {};
  const method = route.slice(0, route.indexOf(' '));
  const path = `${routePath(route, parts.params as Record<string, string> | undefined)}${queryString(parts.query)}`;
  const text = await apiCall<unknown>(target, method, path, parts.body);
  if (typeof text !== 'string') throw badResponse(route, '', 'a text body was expected, JSON came');
  return text;
}

export { FileBody };
