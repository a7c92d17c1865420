/**
 * Fuzzing helpers for the HTTP API tests: a seeded PRNG (so a failing run can be replayed from its seed), a sampler
 * that builds a plausible value from a route's JSON schema, and the hostile values the fuzz cases draw from.
 */

/** A seeded pseudo-random generator (mulberry32): the same seed gives the same sequence. */
export class Prng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  /** `k` distinct elements (or all of them when there are fewer). */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy.slice(0, k);
  }
}

/** The subset of JSON Schema the collector's TypeBox route schemas use. */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  patternProperties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema | JsonSchema[];
  anyOf?: JsonSchema[];
  const?: unknown;
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  pattern?: string;
  format?: string;
}

/** Strings tried, in order, against a field's `pattern` before falling back to a plain word. */
const PATTERN_CANDIDATES = ['Fuzz', '123456', 'https://example.com/hook', '2026-01-05', '09:00', 'mon', 'P1', 'a@b.io'];

/**
 * A value that should satisfy `schema`. `hint(name)` may supply a value for a named property (real ids, so that a
 * fuzzed body gets past the first lookup and reaches deeper code).
 */
export function sampleOf(
  schema: JsonSchema,
  rng: Prng,
  hint: (name: string, schema: JsonSchema) => unknown = () => undefined,
): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.anyOf?.length) return sampleOf(rng.pick(schema.anyOf), rng, hint);
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(schema.properties ?? {})) {
        if (!schema.required?.includes(name) && rng.next() < 0.5) continue;
        const hinted = hint(name, sub);
        out[name] = hinted !== undefined ? hinted : sampleOf(sub, rng, hint);
      }
      return out;
    }
    case 'array': {
      if (Array.isArray(schema.items)) return schema.items.map((item) => sampleOf(item, rng, hint));
      const n = Math.max(schema.minItems ?? 0, 1);
      return Array.from({ length: n }, () =>
        sampleOf((schema.items as JsonSchema | undefined) ?? { type: 'string' }, rng, hint),
      );
    }
    case 'string': {
      if (schema.format === 'email') return `fuzz${rng.int(1e9)}@example.com`;
      // A fresh name each time, so that creating things does not stop at "already exists".
      const candidates = [`Fuzz ${rng.int(1e9)}`, ...PATTERN_CANDIDATES];
      if (schema.pattern) {
        const re = new RegExp(schema.pattern);
        const fit = candidates.find((s) => re.test(s) && s.length <= (schema.maxLength ?? s.length));
        if (fit) return fit;
      }
      if ((schema.maxLength ?? 64) >= 16) return candidates[0];
      return 'fuzz'.padEnd(schema.minLength ?? 1, 'z').slice(0, schema.maxLength ?? 100);
    }
    case 'integer':
    case 'number': {
      const lo = schema.minimum ?? schema.exclusiveMinimum ?? 0;
      const hi = schema.maximum ?? schema.exclusiveMaximum ?? lo + 10;
      const fits = (n: number) =>
        (schema.type === 'number' || Number.isInteger(n)) &&
        (schema.minimum === undefined || n >= schema.minimum) &&
        (schema.maximum === undefined || n <= schema.maximum) &&
        (schema.exclusiveMinimum === undefined || n > schema.exclusiveMinimum) &&
        (schema.exclusiveMaximum === undefined || n < schema.exclusiveMaximum);
      return [1, lo, Math.ceil(lo + 1), (lo + hi) / 2, Math.floor((lo + hi) / 2)].find(fits) ?? lo;
    }
    case 'boolean':
      return rng.next() < 0.5;
    case 'null':
      return null;
    default:
      return 'fuzz';
  }
}

/** One megabyte of text, built once. */
export const MEGABYTE = 'x'.repeat(1024 * 1024);

/** A JSON text nesting `depth` objects (built as text: no recursion on our side). */
export function deeplyNested(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Values of the wrong kind for a field whose schema is `schema`. */
export function wrongTypesFor(schema: JsonSchema): unknown[] {
  const all: unknown[] = ['fuzz', 12345, -1, 1.5, true, [], ['a', 'b'], { a: 1 }, ''];
  const type = schema.type ?? (schema.anyOf ? 'union' : 'any');
  return all.filter((v) => {
    if (type === 'string') return typeof v !== 'string';
    if (type === 'integer' || type === 'number') return typeof v !== 'number';
    if (type === 'boolean') return typeof v !== 'boolean';
    if (type === 'array') return !Array.isArray(v);
    if (type === 'object') return typeof v !== 'object' || Array.isArray(v);
    return true;
  });
}

/** Hostile query-string values. */
export const QUERY_VALUES = [
  '1e999',
  'NaN',
  '-1',
  '-9999999999999999999999',
  '99999999999999999999999999999999',
  '1.5',
  '0x10',
  'Infinity',
  '',
  'true',
  'null',
  '%00',
  '%ff%fe',
  '%E2%98%83',
  '..%2F..%2Fetc%2Fpasswd',
  'a'.repeat(5000),
];

/** Strings that are valid JSON but awkward: control characters, lone surrogates, bidi overrides, SQL and format syntax. */
export const ODD_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '\u202eevil',
  '😀'.repeat(50),
  'é'.repeat(100),
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '%s%s%n',
  '{{7*7}}#{7*7}',
  '../../../../etc/passwd',
  ' ',
  '\t\r\n',
  '<script>alert(1)</script>',
  '0',
  '-0',
  '1e999',
  'Infinity',
  'true',
  'null',
  '__proto__',
  'constructor',
];

/**
 * The seed of a fuzz run: `OUTPOST_FUZZ_SEED` when set (to replay a failure); a fixed one under CI, so a submission
 * is judged on the same inputs every time; otherwise a fresh random one, so local runs keep exploring.
 */
export function fuzzSeed(bits: 31 | 32): number {
  if (process.env.OUTPOST_FUZZ_SEED) return Number(process.env.OUTPOST_FUZZ_SEED);
  if (process.env.CI) return 20_261_123;
  return Math.floor(Math.random() * 2 ** bits);
}
