/**
 * Checks agent rows against their probe's closed row schema where they enter the collector (docs/0002-inventory.md, "Closed rows").
 * The wire carries rows as plain objects so one bad row costs its probe's set, not the agent's whole stream; this is
 * the check that set must pass before anything reads or stores it.
 */
import { type Static, type TObject, type TPartial, Type } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { PROBE_ROWS, type ProbeName } from './rows.js';
import { sanitizeText } from './sanitize.js';

const checks = new Map<ProbeName, TypeCheck<TObject>>();
const checkOf = (probe: ProbeName): TypeCheck<TObject> => {
  let c = checks.get(probe);
  if (!c) {
    c = TypeCompiler.Compile(PROBE_ROWS[probe] as TObject);
    checks.set(probe, c);
  }
  return c;
};

/** Why a row was refused: its index in the set, the column (a JSON pointer, cleaned) and the schema's reason. */
export interface RowViolation {
  index: number;
  path: string;
  reason: string;
}

/** The first row of `rows` that does not match `probe`'s closed schema, or undefined when every row matches. */
export function firstBadRow(probe: ProbeName, rows: readonly unknown[]): RowViolation | undefined {
  const check = checkOf(probe);
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index];
    if (check.Check(row)) continue;
    const first = check.Errors(row).First();
    // The path can name a column the agent invented: agent text, so cleaned and bounded before it reaches a log.
    return {
      index,
      path: sanitizeText(first?.path || '/', 128),
      reason: sanitizeText(first?.message ?? 'invalid', 256),
    };
  }
  return undefined;
}

/**
 * A stored row as the collector answers it: the probe's columns and no others (an allow-list), each optional because a
 * row stored by an older agent lacks the columns added since. Read it with `row.column ?? fallback`.
 */
export function storedRowSchema<P extends ProbeName>(probe: P): TPartial<(typeof PROBE_ROWS)[P]> {
  return Type.Partial(PROBE_ROWS[probe]);
}
/**
 * A stored row projected on its probe's current columns: a column the schema no longer has (a row stored before it was
 * removed) is dropped, a missing one stays missing. The closed answer schemas then hold for every stored row.
 */
export function storedRow<P extends ProbeName>(probe: P, data: Record<string, unknown>): StoredProbeRow<P> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(PROBE_ROWS[probe].properties)) if (Object.hasOwn(data, k)) out[k] = data[k];
  return out as StoredProbeRow<P>;
}
/** The type of a stored row of one probe. */
export type StoredProbeRow<P extends ProbeName> = Static<TPartial<(typeof PROBE_ROWS)[P]>>;
