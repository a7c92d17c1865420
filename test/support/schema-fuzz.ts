/**
 * A seeded generator of protocol messages for fuzz tests. It walks the TypeBox schemas of `shared` (no hand-written
 * message shapes, so a new field is fuzzed the day it is added) and produces values that pass the schema but sit at
 * its edges — boundary integers, empty and maximum-length strings, NUL, bidi overrides and lone surrogates,
 * maximum item counts — and mutated versions that must fail it (a field dropped, a wrong type, an extra field, a 1 MB
 * string, a 100k-item array, deep nesting, non-JSON numbers). Every choice comes from one PRNG, so a seed replays a run.
 */
import { MessageDecoder } from '@outpost/shared';
import { Prng } from './fuzz.js';

/** The parts of a TypeBox schema this generator reads (TypeBox keeps its kind under a registered symbol). */
type Schema = Record<string, unknown> & {
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  patternProperties?: Record<string, Schema>;
};
const KIND = Symbol.for('TypeBox.Kind');
const OPTIONAL = Symbol.for('TypeBox.Optional');
const kindOf = (s: Schema) => (s as Record<symbol, unknown>)[KIND] as string | undefined;
const isOptional = (s: Schema) => (s as Record<symbol, unknown>)[OPTIONAL] === 'Optional';

/** The seeded generator of fuzz.ts (the same sequence on every platform for a seed), with ranges. */
export class Rng {
  readonly #p: Prng;
  constructor(readonly seed: number) {
    this.#p = new Prng(seed);
  }
  /** A float in [0, 1). */
  next(): number {
    return this.#p.next();
  }
  /** An integer in [min, max] (coarse above 2^32, which is fine for picking). */
  int(min: number, max: number): number {
    return Math.min(max, min + Math.floor(this.next() * (max - min + 1)));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Pieces of hostile text: control characters, bidi overrides, lone surrogates, astral characters, injection bait. */
export const HOSTILE_TEXT = [
  'a',
  'Z',
  '0',
  'é',
  '😀',
  '𝕏',
  '\u0000',
  '\u0007',
  '\u001b[31m',
  '\u202e',
  '\u202d',
  '\u2066',
  '\u200b',
  '\ufeff',
  '\u00a0',
  '\u2028',
  '\ud800',
  '\udfff',
  '\n',
  '\r\n',
  '\t',
  '"',
  '\\',
  "'",
  '<script>',
  '%s%n',
  '$\u007bx}',
  '__proto__',
  "'); DROP TABLE agents;--",
  '../../',
];

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const INTEGER_EDGES = [0, 1, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, MAX_SAFE, 2 ** 53, 1e21, 1e300, -1e300];
const NUMBER_EDGES = [0, -0, 0.5, -1.5, 5e-324, 1e-300, 1e21, Number.MAX_VALUE, -Number.MAX_VALUE, 123.456];

/** Limits that keep a generated message well under the collector's frame limit. */
export interface GenOptions {
  /** Most items of an array or properties of a record (unless the schema's own maximum is picked). */
  maxCount: number;
  /** Chance of using the schema's own maximum count (capped by `hardMaxCount`). */
  fullCountChance: number;
  hardMaxCount: number;
}
const DEFAULTS: GenOptions = { maxCount: 6, fullCountChance: 0.05, hardMaxCount: 200 };

// ---------------------------------------------------------------------------------------------------------------
// Strings from the regular expressions the schemas use: literals, classes (ranges, negation, \s), groups and
// quantifiers — the subset `shared` needs; an unsupported construct throws so the generator is not silently wrong.

type Node =
  | { t: 'lit'; c: string }
  | { t: 'class'; neg: boolean; chars: string[]; ws: boolean; set: string }
  | { t: 'group'; seq: Rep[] };
interface Rep {
  node: Node;
  min: number;
  max: number;
}

function parseRegex(src: string): Rep[] {
  let i = 0;
  const seq = (): Rep[] => {
    const out: Rep[] = [];
    while (i < src.length && src[i] !== ')') {
      const ch = src[i]!;
      if (ch === '^' || ch === '$') {
        i++;
        continue;
      }
      let node: Node;
      if (ch === '[') node = cls();
      else if (ch === '(') {
        i++;
        const inner = seq();
        if (src[i] !== ')') throw new Error(`unclosed group in ${src}`);
        i++;
        node = { t: 'group', seq: inner };
      } else if (ch === '\\') {
        const e = src[i + 1]!;
        i += 2;
        if (e === 's') node = { t: 'class', neg: false, chars: [' ', '\t'], ws: false, set: ' \t' };
        else node = { t: 'lit', c: e };
      } else if ('.*+?{|'.includes(ch)) throw new Error(`unsupported regex construct ${ch} in ${src}`);
      else {
        i++;
        node = { t: 'lit', c: ch };
      }
      out.push({ node, ...quant() });
    }
    return out;
  };
  const cls = (): Node => {
    i++; // [
    const neg = src[i] === '^';
    if (neg) i++;
    const chars: string[] = [];
    let ws = false;
    while (src[i] !== ']') {
      if (i >= src.length) throw new Error(`unclosed class in ${src}`);
      let c = src[i]!;
      if (c === '\\') {
        const e = src[i + 1]!;
        i += 2;
        if (e === 's') {
          ws = true;
          continue;
        }
        c = e;
      } else i++;
      if (src[i] === '-' && src[i + 1] !== ']' && i + 1 < src.length) {
        const to = src[i + 1]!;
        i += 2;
        for (let k = c.charCodeAt(0); k <= to.charCodeAt(0); k++) chars.push(String.fromCharCode(k));
      } else chars.push(c);
    }
    i++; // ]
    return { t: 'class', neg, chars, ws, set: chars.join('') };
  };
  const quant = (): { min: number; max: number } => {
    const q = src[i];
    const simple =
      q === '*' ? { min: 0, max: 64 } : q === '+' ? { min: 1, max: 64 } : q === '?' ? { min: 0, max: 1 } : null;
    if (simple) {
      i++;
      return simple;
    }
    if (q === '{') {
      const end = src.indexOf('}', i);
      const [a, b] = src.slice(i + 1, end).split(',');
      i = end + 1;
      return { min: Number(a), max: b === undefined ? Number(a) : Number(b) };
    }
    return { min: 1, max: 1 };
  };
  const out = seq();
  if (i !== src.length) throw new Error(`unbalanced ) in ${src}`);
  return out;
}

const regexCache = new Map<string, Rep[]>();

function fromRegex(rng: Rng, pattern: string, maxLength: number): string {
  let reps = regexCache.get(pattern);
  if (!reps) {
    reps = parseRegex(pattern);
    regexCache.set(pattern, reps);
  }
  const emit = (rs: Rep[]): string => {
    let s = '';
    for (const r of rs) {
      const n = rng.pick([r.min, r.max, rng.int(r.min, r.max)]);
      for (let k = 0; k < n; k++) s += one(r.node);
    }
    return s;
  };
  const one = (n: Node): string => {
    if (n.t === 'lit') return n.c;
    if (n.t === 'group') return emit(n.seq);
    if (!n.neg) return rng.chance(0.3) ? rng.pick([n.chars[0]!, n.chars.at(-1)!]) : rng.pick(n.chars);
    // A negated class: hostile characters that are neither listed nor (for \s) whitespace.
    const pool = HOSTILE_TEXT.filter((t) => t.length === 1 && !n.set.includes(t) && !(n.ws && /\s/.test(t)));
    return rng.pick(pool);
  };
  return emit(reps).slice(0, maxLength);
}

// ---------------------------------------------------------------------------------------------------------------

function hostileString(rng: Rng, min: number, max: number): string {
  const cap = Math.min(max, 8192);
  const len = rng.pick([min, cap, rng.int(min, Math.min(cap, min + 40))]);
  let s = '';
  while (s.length < len) s += rng.pick(HOSTILE_TEXT);
  // Slicing by code units may split a surrogate pair: a lone surrogate is one more hostile case.
  return s.slice(0, len);
}

function integerIn(rng: Rng, s: Schema): number {
  const min = typeof s.minimum === 'number' ? s.minimum : -MAX_SAFE;
  const max = typeof s.maximum === 'number' ? s.maximum : Number.MAX_VALUE;
  const inRange = INTEGER_EDGES.filter((v) => v >= min && v <= max);
  const lo = Math.max(min, -MAX_SAFE);
  const hi = Math.min(max, MAX_SAFE);
  return rng.pick(
    [...inRange, min === -MAX_SAFE ? 0 : min, hi, rng.int(lo, Math.min(hi, lo + 1000))].filter(
      (v) => v >= min && v <= max,
    ),
  );
}

function numberIn(rng: Rng, s: Schema): number {
  const min = typeof s.minimum === 'number' ? s.minimum : -Number.MAX_VALUE;
  const max = typeof s.maximum === 'number' ? s.maximum : Number.MAX_VALUE;
  const exMin = typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : undefined;
  const ok = (v: number) => v >= min && v <= max && (exMin === undefined || v > exMin);
  const pool = [...NUMBER_EDGES, min, max].filter(ok);
  return pool.length ? rng.pick(pool) : max;
}

function countFor(rng: Rng, min: number, max: number, o: GenOptions): number {
  if (rng.chance(o.fullCountChance)) return Math.max(min, Math.min(max, o.hardMaxCount));
  return Math.max(min, Math.min(max, rng.pick([min, rng.int(min, Math.max(min, o.maxCount))])));
}

/** A value that satisfies `schema`, drawn towards its edges. */
export function arbitrary(rng: Rng, schema: Schema, options: Partial<GenOptions> = {}): unknown {
  const o = { ...DEFAULTS, ...options };
  const gen = (s: Schema): unknown => {
    switch (kindOf(s)) {
      case 'Literal':
        return s.const;
      case 'Boolean':
        return rng.chance(0.5);
      case 'Null':
        return null;
      case 'Integer':
        return integerIn(rng, s);
      case 'Number':
        return numberIn(rng, s);
      case 'String': {
        const min = typeof s.minLength === 'number' ? s.minLength : 0;
        const max = typeof s.maxLength === 'number' ? s.maxLength : 1024;
        if (typeof s.pattern === 'string') return fromRegex(rng, s.pattern, max);
        return hostileString(rng, min, max);
      }
      case 'Union':
        return gen(rng.pick(s.anyOf!));
      case 'Array': {
        const n = countFor(rng, Number(s.minItems ?? 0), Number(s.maxItems ?? 50), o);
        return Array.from({ length: n }, () => gen(s.items!));
      }
      case 'Record': {
        const [[keyPattern, valueSchema]] = Object.entries(s.patternProperties!) as [[string, Schema]];
        const n = countFor(rng, Number(s.minProperties ?? 0), Number(s.maxProperties ?? 50), o);
        const out: Record<string, unknown> = {};
        for (let k = 0; k < n; k++) out[fromRegex(rng, keyPattern, 1024)] = gen(valueSchema);
        return out;
      }
      case 'Object': {
        const out: Record<string, unknown> = {};
        for (const [k, p] of Object.entries(s.properties ?? {})) {
          if (isOptional(p) && rng.chance(0.5)) continue;
          out[k] = gen(p);
        }
        return out;
      }
      case 'Unknown':
        return rng.pick([0, '', null, true, { a: 1 }, [1]]);
      default:
        throw new Error(`schema-fuzz: unsupported schema kind ${kindOf(s)}`);
    }
  };
  return gen(schema);
}

/** Generates values that pass a schema (retrying the rare draw that does not, e.g. a lone surrogate past a pattern). */
export class SchemaFuzzer<T> {
  readonly #decoder: MessageDecoder<never>;
  constructor(
    private readonly schema: unknown,
    private readonly options: Partial<GenOptions> = {},
  ) {
    this.#decoder = new MessageDecoder(schema as never);
  }

  /** True when `value` passes the schema. */
  valid(value: unknown): boolean {
    try {
      this.#decoder.check(value);
      return true;
    } catch {
      return false;
    }
  }

  /** A schema-valid value, pushed to the edges. */
  valid1(rng: Rng, tweak: (v: T) => void = () => undefined): T {
    for (let attempt = 0; attempt < 50; attempt++) {
      const v = arbitrary(rng, this.schema as Schema, this.options) as T;
      tweak(v);
      if (this.valid(v)) return v;
    }
    throw new Error('schema-fuzz: could not draw a valid value in 50 attempts (generator bug)');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations: each turns a valid message into a frame that must be refused.

/** Placeholder a mutation leaves in the tree; the text form replaces it with raw JSON (deep nesting, NaN). */
const RAW = '\u0000RAW\u0000';

type Json = unknown;
type Path = (string | number)[];

function nodes(v: Json, path: Path = [], out: { path: Path; value: Json }[] = []): { path: Path; value: Json }[] {
  out.push({ path, value: v });
  if (Array.isArray(v)) {
    for (const [i, x] of v.slice(0, 20).entries()) nodes(x, [...path, i], out);
  } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) nodes(x, [...path, k], out);
  return out;
}
function setAt(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  let cur = root as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, Json>;
  cur[path.at(-1)!] = value;
  return root;
}
function deleteAt(root: Json, path: Path): void {
  let cur = root as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, Json>;
  const last = path.at(-1)!;
  if (Array.isArray(cur)) cur.splice(Number(last), 1);
  else delete cur[last];
}

/** One invalid frame, and what was done to make it so. */
export interface Mutant {
  what: string;
  text: string;
}

/** Mutates a valid message into a frame its schema refuses; `check` is the schema's validator. */
export function mutate(rng: Rng, valid: Json, check: (v: Json) => boolean): Mutant {
  for (let attempt = 0; attempt < 40; attempt++) {
    const v = structuredClone(valid);
    const all = nodes(v);
    const target = rng.pick(all.slice(1).length ? all.slice(1) : all);
    const objects = all.filter((n) => n.value && typeof n.value === 'object' && !Array.isArray(n.value));
    const op = rng.int(0, 10);
    let what: string;
    let raw: string | undefined;
    let out: Json = v;
    switch (op) {
      case 0:
        deleteAt(v, target.path);
        what = `dropped ${target.path.join('.')}`;
        break;
      case 1:
      case 2: {
        const wrong = rng.pick([0, -1, 1.5, '', 'x', true, null, [], {}, 2 ** 53, -(2 ** 53), [1, 2], { a: 1 }]);
        out = setAt(v, target.path, wrong);
        what = `${target.path.join('.')} = ${JSON.stringify(wrong)}`;
        break;
      }
      case 3: {
        const o = rng.pick(objects).value as Record<string, Json>;
        o[rng.pick(['extra', 'agentId', 'admin', 'seq2', 'constructorX'])] = rng.pick([1, 'x', null, { a: 1 }]);
        what = 'extra field';
        break;
      }
      case 4:
        out = setAt(v, target.path, 'x'.repeat(1_000_000));
        what = `1 MB string at ${target.path.join('.')}`;
        break;
      case 5:
        out = setAt(v, target.path, new Array(100_000).fill(0));
        what = `100k-item array at ${target.path.join('.')}`;
        break;
      case 6: {
        const depth = rng.pick([1000, 10_000, 50_000]);
        const arr = rng.chance(0.5);
        raw = arr ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        out = setAt(v, target.path, RAW);
        what = `${depth}-deep ${arr ? 'array' : 'object'} at ${target.path.join('.')}`;
        break;
      }
      case 7:
        raw = rng.pick(['NaN', 'Infinity', '-Infinity', 'undefined', '1e999', '0x10', '01']);
        out = setAt(v, target.path, RAW);
        what = `${raw} at ${target.path.join('.')}`;
        break;
      case 8: {
        if (!('seq' in (v as object))) continue;
        const seq = rng.pick([0, -1, 2 ** 53, 1.5, '1', null, 1e300]);
        (v as Record<string, Json>).seq = seq;
        what = `seq ${JSON.stringify(seq)}`;
        break;
      }
      case 9: {
        const text = JSON.stringify(v);
        const cut = rng.pick([
          text.slice(0, rng.int(0, text.length - 1)),
          `\ufeff${text}`,
          `${text}x`,
          'null',
          '[]',
          '"stream.event"',
          '',
          text.replace(/"type":"[^"]*"/, '"type":"stream.evil"'),
          `{"__proto__":{"polluted":1},${text.slice(1)}`,
        ]);
        return { what: `text ${cut.slice(0, 40)}`, text: cut };
      }
      default: {
        const o = rng.pick(objects).value as Record<string, Json>;
        const key = rng.pick(Object.keys(o).length ? Object.keys(o) : ['type']);
        o[key] = rng.pick([[o[key]], { value: o[key] }, String(o[key])]);
        what = `${key} wrapped`;
      }
    }
    // A mutation may stay valid (an optional field dropped, a union sibling); raw JSON never parses as the schema.
    if (raw === undefined && check(out)) continue;
    let text = JSON.stringify(out);
    if (raw !== undefined) text = text.replace(JSON.stringify(RAW), raw);
    return { what, text };
  }
  return { what: 'fallback: missing type', text: '{"seq":1}' };
}
