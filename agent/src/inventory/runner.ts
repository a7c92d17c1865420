/**
 * Runs probes: each one's rows are cleaned to its schema's bounds, checked against the schema and hashed; a probe
 * that throws, or whose rows do not validate, yields its coded error and never stops the others.
 */
import { cleanRow, OutpostError, PROBE_ROWS, type ProbeName, rowHash, rowKey, rowsHash } from '@outpost/shared';
import type { TObject } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import type { ProbeContext } from './probe.js';
import type { RunnableProbe } from './registry.js';

/** A probe's outcome. */
export type ProbeResult =
  | {
      probe: ProbeName;
      ok: true;
      collectedAt: number;
      durationMs: number;
      rows: Record<string, unknown>[];
      /** Row key → row hash, for diffs. */
      rowHashes: Map<string, string>;
      hash: string;
    }
  | { probe: ProbeName; ok: false; collectedAt: number; durationMs: number; code: string; message: string };

const checks = new Map<ProbeName, TypeCheck<TObject>>();
function checkFor(probe: ProbeName): TypeCheck<TObject> {
  let c = checks.get(probe);
  if (!c) {
    c = TypeCompiler.Compile(PROBE_ROWS[probe]);
    checks.set(probe, c);
  }
  return c;
}

/** Runs one probe. */
export async function runProbe(p: RunnableProbe, ctx: ProbeContext): Promise<ProbeResult> {
  const name = p.probe.name;
  const started = ctx.now();
  try {
    const raw = await p.collect(ctx);
    const check = checkFor(name);
    const byKey = new Map<string, Record<string, unknown>>();
    for (const r of raw) {
      const row = cleanRow(name, r as Record<string, unknown>);
      if (!check.Check(row)) {
        const first = check.Errors(row).First();
        throw new OutpostError('OUTPOST_E_PROBE_OUTPUT', {
          message: `${name}: a row does not match its schema at ${first?.path ?? '/'}: ${first?.message ?? 'invalid'}`,
          details: { probe: name },
        });
      }
      byKey.set(rowKey(name, row), row);
    }
    const rows = [...byKey.values()];
    const rowHashes = new Map<string, string>();
    for (const [k, r] of byKey) rowHashes.set(k, rowHash(r));
    return {
      probe: name,
      ok: true,
      collectedAt: started,
      durationMs: ctx.now() - started,
      rows,
      rowHashes,
      hash: rowsHash(name, rows),
    };
  } catch (err) {
    const e =
      err instanceof OutpostError
        ? err
        : new OutpostError('OUTPOST_E_PROBE_FAILED', {
            cause: err,
            message: `${name}: ${(err as Error)?.message ?? String(err)}`,
          });
    return {
      probe: name,
      ok: false,
      collectedAt: started,
      durationMs: ctx.now() - started,
      code: e.code,
      message: e.message.slice(0, 1024),
    };
  }
}

/** Runs several probes concurrently; results keep the registry order. */
export async function runProbes(probes: readonly RunnableProbe[], ctx: ProbeContext): Promise<ProbeResult[]> {
  return Promise.all(probes.map((p) => runProbe(p, ctx)));
}
