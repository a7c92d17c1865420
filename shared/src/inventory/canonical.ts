/**
 * Canonical form of a probe's rows: cleaned to the schema's bounds, sorted by key, hashed. The agent and the
 * collector compute the same hash for the same rows, so a diff can name the state it applies to.
 */
import { createHash } from 'node:crypto';
import { PROBE_ROWS, type ProbeName, rowKey } from './rows.js';
import { sanitizeText } from './sanitize.js';

const maxLengths = new Map<ProbeName, Map<string, number>>();

function bounds(probe: ProbeName): Map<string, number> {
  let m = maxLengths.get(probe);
  if (m) return m;
  m = new Map();
  for (const [k, s] of Object.entries(PROBE_ROWS[probe].properties as Record<string, Record<string, unknown>>)) {
    const items = s.items as Record<string, unknown> | undefined;
    const max = (s.maxLength ?? items?.maxLength) as number | undefined;
    if (typeof max === 'number') m.set(k, max);
  }
  maxLengths.set(probe, m);
  return m;
}

/** Cleans every string of a row to its column's bound (escape sequences and control characters removed). */
export function cleanRow<R extends Record<string, unknown>>(probe: ProbeName, r: R): R {
  const b = bounds(probe);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    const max = b.get(k) ?? 256;
    if (typeof v === 'string') out[k] = sanitizeText(v, max);
    else if (Array.isArray(v)) out[k] = v.slice(0, 64).map((x) => (typeof x === 'string' ? sanitizeText(x, max) : x));
    else out[k] = v;
  }
  return out as R;
}

/** JSON with object keys sorted, so equal rows serialise equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Hash of one row (to tell a changed row from an unchanged one). */
export function rowHash(r: unknown): string {
  return createHash('sha256').update(canonicalJson(r)).digest('base64url').slice(0, 22);
}

/** Hash of a probe's whole row set, independent of row order (rows are deduplicated by key, last wins). */
export function rowsHash(probe: ProbeName, rows: readonly Record<string, unknown>[]): string {
  const byKey = new Map<string, string>();
  for (const r of rows) byKey.set(rowKey(probe, r), rowHash(r));
  const h = createHash('sha256');
  for (const k of [...byKey.keys()].sort()) h.update(`${k}\u0000${byKey.get(k)}\u0000`);
  return h.digest('base64url').slice(0, 32);
}
