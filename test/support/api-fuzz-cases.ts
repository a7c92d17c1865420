/**
 * The cases of the API fuzz test (test/security/api-fuzz.test.ts): hostile path parameters, query strings and
 * bodies derived from a route's own schema, wrong content types, mangled tokens; and what an answer must look like.
 */
import type { RegisteredRoute } from '@outpost/collector';
import { ERRORS, isErrorCode } from '@outpost/shared';
import {
  deeplyNested,
  type JsonSchema,
  MEGABYTE,
  ODD_STRINGS,
  type Prng,
  QUERY_VALUES,
  sampleOf,
  wrongTypesFor,
} from './fuzz.js';

/** The kind of id a path segment names, from the collection it follows (`/agents/:id` takes an `ag_` id). */
const KIND_OF_COLLECTION: Record<string, string> = {
  agents: 'ag',
  incidents: 'in',
  clients: 'cl',
  users: 'us',
  calendars: 'cal',
  'enrollment-tokens': 'et',
  channels: 'ch',
  rotations: 'rot',
};

/** One fuzzed request. */
export interface Case {
  label: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

/** What the cases draw real values from. */
export interface FuzzFixtures {
  /** Ids of real objects, by kind (`ag`, `in`, `cl`…), in the caller's client (`a`) and in another client (`b`). */
  ids: Record<string, { a: string; b: string }>;
  /** Where webhook channels created by the fuzz deliver (a local receiver). */
  receiverUrl: string;
}

/** Builds the fuzzed requests for one route, as one caller (`isViewer`: a viewer of client `a`). */
export class CaseMaker {
  constructor(
    private readonly fx: FuzzFixtures,
    private readonly rng: Prng,
    private readonly route: RegisteredRoute,
    private readonly token: string,
    private readonly isViewer: boolean,
  ) {}

  /** A real id of the kind `name` suggests, mostly the caller's own client, sometimes the other one. */
  private realId(kind: string | undefined): string | undefined {
    const pair = kind ? this.fx.ids[kind] : undefined;
    if (!pair) return undefined;
    return this.rng.next() < 0.7 ? pair.a : pair.b;
  }

  private idHint = (name: string, schema: JsonSchema): unknown => {
    const kinds: Record<string, string> = {
      clientId: 'cl',
      siteId: 'si',
      agentId: 'ag',
      userId: 'us',
      calendarId: 'cal',
      channelId: 'ch',
      agentIds: 'ag',
    };
    // Values a schema cannot express but the code checks, so that "valid" bodies get past the first lookup.
    const plain: Record<string, unknown> = {
      timezone: this.rng.pick(['UTC', 'Europe/Paris', 'America/New_York']),
      password: 'correct horse battery staple',
      members: [this.fx.ids.us?.b],
      url: this.fx.receiverUrl,
      host: '127.0.0.1',
    };
    if (name in plain) return plain[name];
    // The software query matches names by substring: one that exists, so the version comparison runs.
    if (name === 'name' && this.route.url.startsWith('/api/v1/inventory/')) return 'lib';
    if (name === 'below') return this.rng.pick(['1.0', '', '~', '2:0', '1'.repeat(400), '1e999', '..', 'é']);
    if (schema.type === 'string' && (name === 'from' || name === 'to'))
      return name === 'from' ? '2026-01-01' : '2026-02-01';
    const kind = kinds[name];
    if (!kind) return undefined;
    const id = this.realId(kind);
    return name === 'agentIds' ? [id] : id;
  };

  /** A path parameter value: hostile most of the time, a real id (of this or the other client) otherwise. */
  private paramValue(collection: string | undefined): [string, string] {
    const kind = collection ? KIND_OF_COLLECTION[collection] : undefined;
    const wrongKinds = Object.keys(this.fx.ids).filter((k) => k !== kind);
    const real = (): string => encodeURIComponent(this.realId(kind) ?? 'x_missing');
    const choices: [string, () => string][] = [
      ['real id', real],
      ['real id', real],
      ['real id', real],
      ['other client id', () => encodeURIComponent((kind && this.fx.ids[kind]?.b) ?? 'x_missing')],
      ['wrong kind id', () => encodeURIComponent(this.realId(this.rng.pick(wrongKinds)) ?? 'x')],
      ['empty', () => ''],
      ['10k chars', () => 'a'.repeat(10_000)],
      ['dot-dot', () => this.rng.pick(['..', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '../..'])],
      ['NUL', () => this.rng.pick(['%00', `${this.realId(kind) ?? 'x'}%00`, '%00%00%00'])],
      ['unicode', () => this.rng.pick(['%C3%A9%E2%98%83%F0%9F%98%80', '%E2%80%AE', 'é☃😀', '%EF%BF%BF'])],
      ['bad percent', () => this.rng.pick(['%', '%zz', '%ff%fe', '%C3%28', 'a%2'])],
    ];
    const [label, make] = this.rng.pick(choices);
    return [label, make()];
  }

  private path(): [string, string] {
    const labels: string[] = [];
    const segments = this.route.url.split('/');
    const url = segments
      .map((seg, i) => {
        if (!seg.startsWith(':')) return seg;
        const [label, value] = this.paramValue(segments[i - 1]);
        labels.push(`${seg}=${label}`);
        return value;
      })
      .join('/');
    return [url, labels.join(',')];
  }

  private query(): [string, string] {
    const schema = this.route.schema.querystring as JsonSchema | undefined;
    const props = Object.keys(schema?.properties ?? {});
    // A plausible query first (real ids, values in range), then one thing made hostile on top of it.
    const base = Object.entries((schema ? sampleOf(schema, this.rng, this.idHint) : {}) as Record<string, unknown>);
    const key = props.length ? this.rng.pick(props) : 'limit';
    const encode = (pairs: [string, unknown][]) =>
      pairs
        .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))
        .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
        .join('&');
    const without = encode(base.filter(([k]) => k !== key));
    const value = () => this.rng.pick(QUERY_VALUES);
    const id = () => encodeURIComponent(this.realId(this.rng.pick(Object.keys(this.fx.ids))) ?? 'x');
    const choices: [string, () => string][] = [
      ['valid', () => encode(base)],
      ['valid', () => encode(base)],
      ['hostile value', () => `${key}=${value()}`],
      ['repeated key', () => `${key}=${value()}&${key}=${value()}&${key}=1`],
      ['array syntax', () => `${key}[]=1&${key}[]=${value()}`],
      ['index syntax', () => `${key}[0]=${value()}&${key}[1][x]=2`],
      ['__proto__', () => `__proto__=1&__proto__[admin]=true&${key}=${value()}`],
      ['constructor', () => `constructor[prototype][admin]=1&${key}=1`],
      ['unknown key', () => `fuzz${this.rng.int(100)}=1`],
      ['id value', () => `${key}=${id()}`],
      ['all keys', () => props.map((p) => `${p}=${value()}`).join('&')],
      ['empty key', () => `=1&&&${key}`],
    ];
    const [label, make] = this.rng.pick(choices);
    const q = make();
    // Mostly keep the rest of the plausible query beside the hostile part, so that it is the one thing wrong.
    return [label !== 'valid' && without && this.rng.next() < 0.7 ? `${without}&${q}` : q, label];
  }

  /** A JSON body derived from the route's body schema with one field made hostile. */
  private body(): [string | Buffer, string, string] {
    const schema = this.route.schema.body as JsonSchema | undefined;
    const base = (schema ? sampleOf(schema, this.rng, this.idHint) : {}) as unknown;
    const json = 'application/json';
    const leaves = leafPaths(base);
    const at = leaves.length ? this.rng.pick(leaves) : [];
    const fieldSchema = schemaAt(schema, at);
    const set = (value: unknown) => JSON.stringify(setAt(base, at, value));
    const where = at.join('.') || '(root)';
    const choices: [string, () => [string | Buffer, string]][] = [
      ['valid', () => [JSON.stringify(base), json]],
      ['wrong type', () => [set(this.rng.pick(wrongTypesFor(fieldSchema))), json]],
      ['null', () => [set(null), json]],
      ['odd string', () => [set(this.rng.pick(ODD_STRINGS)), json]],
      ['odd number', () => [set(this.rng.pick([-1, 0, 1e308, -1e308, 2 ** 53, 0.1, -0.5])), json]],
      ['1 MB string', () => [set(MEGABYTE), json]],
      ['100 kB string', () => [set(MEGABYTE.slice(0, 100_000)), json]],
      ['nested 10k deep', () => [set('@NESTED@').replace('"@NESTED@"', deeplyNested(10_000)), json]],
      ['extra field', () => [JSON.stringify(setAt(base, [...at.slice(0, -1), 'fuzzExtra'], 1)), json]],
      ['__proto__ key', () => [withKey(JSON.stringify(base), '"__proto__":{"admin":true}'), json]],
      ['constructor key', () => [withKey(JSON.stringify(base), '"constructor":{"prototype":{"admin":true}}'), json]],
      ['not an object', () => [this.rng.pick(['[]', '"text"', '123', 'null', 'true']), json]],
      ['invalid JSON', () => [this.rng.pick(['{"a":', '{', '{"a":1}}', '\u0000', '{"a":1,}']), json]],
      ['text/plain', () => [JSON.stringify(base), 'text/plain']],
      [
        'multipart',
        () => [
          `--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n`,
          'multipart/form-data; boundary=x',
        ],
      ],
      ['form', () => ['name=fuzz&clientId=x', 'application/x-www-form-urlencoded']],
      ['xml', () => ['<a/>', 'application/xml']],
      ['odd charset', () => [JSON.stringify(base), 'application/json; charset=utf-16']],
      ['invalid UTF-8', () => [invalidUtf8(JSON.stringify(base)), json]],
      ['empty JSON', () => ['', json]],
      ['empty, no type', () => ['', '']],
    ];
    const [label, make] = this.rng.pick(choices);
    const [payload, type] = make();
    return [payload, type, `${label} at ${where}`];
  }

  /** The caller's token, and now and then a mangled one (which must be a coded 401, never a 500). */
  private authorization(): string {
    if (this.rng.next() > 0.03) return `Bearer ${this.token}`;
    return this.rng.pick([
      `Bearer ${this.token}x`,
      `Bearer  ${this.token}`,
      `bearer ${this.token}`,
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      `Bearer ${'a'.repeat(10_000)}`,
      'Bearer',
      'Bearer opt_%00_x',
      `Bearer ${this.token.slice(0, -1)}`,
      '',
    ]);
  }

  next(): Case {
    const [path, pathLabel] = this.path();
    const { method } = this.route;
    const headers: Record<string, string> = { authorization: this.authorization() };
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const roll = this.rng.next();
    // Unregistered methods on a real path must be a coded 404 too.
    const fuzzMethod = roll < 0.04 ? this.rng.pick(['PATCH', 'PUT', 'DELETE', 'OPTIONS']) : method;
    let url = path;
    let label = `path ${pathLabel || 'as is'}`;
    if (!hasBody || roll < 0.3) {
      const [q, qLabel] = this.query();
      url = `${path}?${q}`;
      label += `; query ${qLabel} (${q.slice(0, 80)})`;
    }
    const who = this.isViewer ? 'viewer' : 'admin';
    if (!hasBody) return { label: `${who} ${label}`, method: fuzzMethod, url, headers };
    const [payload, type, bodyLabel] = this.body();
    if (type) headers['content-type'] = type;
    return { label: `${who} ${label}; body ${bodyLabel}`, method: fuzzMethod, url, headers, payload };
  }
}

/** Paths (property names and array indexes) of every leaf, and of every object, of a JSON value. */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return prefix.length ? [prefix] : [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const out: string[][] = prefix.length ? [prefix] : [];
  for (const [k, v] of entries) out.push(...leafPaths(v, [...prefix, k]));
  return out;
}

function setAt(value: unknown, path: string[], leaf: unknown): unknown {
  if (!path.length) return leaf;
  const [head, ...rest] = path as [string, ...string[]];
  const base = value !== null && typeof value === 'object' ? value : {};
  const copy: Record<string, unknown> = Array.isArray(base)
    ? ([...base] as unknown as Record<string, unknown>)
    : { ...base };
  copy[head] = setAt(copy[head], rest, leaf);
  return copy;
}

function schemaAt(schema: JsonSchema | undefined, path: string[]): JsonSchema {
  let s: JsonSchema | undefined = schema;
  for (const key of path) {
    if (!s) break;
    if (s.anyOf) s = s.anyOf.find((x) => x.type === 'object' || x.type === 'array') ?? s.anyOf[0];
    if (s?.type === 'array') s = Array.isArray(s.items) ? s.items[Number(key)] : s.items;
    else s = s?.properties?.[key] ?? Object.values(s?.patternProperties ?? {})[0];
  }
  return s ?? {};
}

/** The JSON text with `member` inserted as the first member of its top-level object, when it is one. */
function withKey(text: string, member: string): string {
  if (!text.startsWith('{')) return text;
  return text === '{}' ? `{${member}}` : `{${member},${text.slice(1)}`;
}

/** The JSON text with bytes that are not UTF-8 inside its first string (or appended). */
function invalidUtf8(text: string): Buffer {
  const at = text.indexOf('"', text.indexOf(':') + 1);
  const cut = at > 0 ? at + 1 : text.length;
  return Buffer.concat([
    Buffer.from(text.slice(0, cut)),
    Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
    Buffer.from(text.slice(cut)),
  ]);
}

/** What a fuzzed answer must look like; returns the problem, if any. */
export function problemWith(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  ms: number,
  maxMs: number,
): string | undefined {
  if (ms > maxMs) return `answered in ${ms} ms`;
  if (res.statusCode >= 500 || res.statusCode < 200 || (res.statusCode >= 300 && res.statusCode < 400)) {
    return `status ${res.statusCode}: ${res.body.slice(0, 300)}`;
  }
  if (res.statusCode < 400) return undefined;
  let body: { error?: { code?: unknown; message?: unknown; hint?: unknown; requestId?: unknown } };
  try {
    body = JSON.parse(res.body);
  } catch {
    return `status ${res.statusCode} with a body that is not JSON: ${res.body.slice(0, 300)}`;
  }
  const e = body.error;
  if (!e || typeof e.code !== 'string' || !isErrorCode(e.code))
    return `uncoded ${res.statusCode}: ${res.body.slice(0, 300)}`;
  if (typeof e.message !== 'string' || typeof e.hint !== 'string' || typeof e.requestId !== 'string') {
    return `error body misses message, hint or requestId: ${res.body.slice(0, 300)}`;
  }
  if (ERRORS[e.code].http !== res.statusCode)
    return `${e.code} answered with status ${res.statusCode}, not ${ERRORS[e.code].http}`;
  return undefined;
}
