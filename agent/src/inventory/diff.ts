/**
 * From a probe result and what the collector already has (the last state the agent reported), the change set to
 * send: nothing when the hash is unchanged, a full snapshot when there is no base, otherwise a row-level diff.
 * Large sets are split into parts, and parts are packed into messages under the stream's size budget. Pure logic.
 */
import {
  INVENTORY_MAX_ROWS_PER_PART,
  INVENTORY_MESSAGE_BUDGET_BYTES,
  type InventorySet,
  type ProbeName,
} from '@outpost/shared';
import type { ProbeResult } from './runner.js';

/** What the agent remembers of one probe's last reported state. */
export interface ProbeState {
  hash: string;
  /** Row key → row hash. */
  rows: Record<string, string>;
  /** The error last reported (code + message), if the probe was failing. */
  error?: string | undefined;
}

/** A change set before splitting. */
export type PlannedSet =
  | {
      probe: ProbeName;
      mode: 'full' | 'diff';
      baseHash: string;
      hash: string;
      collectedAt: number;
      upserts: Record<string, unknown>[];
      removes: string[];
    }
  | { probe: ProbeName; mode: 'error'; hash: string; collectedAt: number; code: string; message: string };

/** The set to send for one result, or undefined when nothing changed; `full` forces a snapshot. */
export function planSet(result: ProbeResult, prev: ProbeState | undefined, full: boolean): PlannedSet | undefined {
  if (!result.ok) {
    const error = `${result.code}: ${result.message}`;
    if (!full && prev?.error === error) return undefined;
    return {
      probe: result.probe,
      mode: 'error',
      hash: prev?.hash ?? '',
      collectedAt: result.collectedAt,
      code: result.code,
      message: result.message,
    };
  }
  if (full || !prev) {
    return {
      probe: result.probe,
      mode: 'full',
      baseHash: '',
      hash: result.hash,
      collectedAt: result.collectedAt,
      upserts: result.rows,
      removes: [],
    };
  }
  if (prev.hash === result.hash && !prev.error) return undefined;
  const upserts: Record<string, unknown>[] = [];
  const keys = [...result.rowHashes.keys()];
  result.rows.forEach((row, i) => {
    const k = keys[i]!;
    if (prev.rows[k] !== result.rowHashes.get(k)) upserts.push(row);
  });
  const removes = Object.keys(prev.rows).filter((k) => !result.rowHashes.has(k));
  return {
    probe: result.probe,
    mode: 'diff',
    baseHash: prev.hash,
    hash: result.hash,
    collectedAt: result.collectedAt,
    upserts,
    removes,
  };
}

/** The state to remember once `set` is durably queued. */
export function nextState(result: ProbeResult, prev: ProbeState | undefined): ProbeState {
  if (!result.ok) return { hash: prev?.hash ?? '', rows: prev?.rows ?? {}, error: `${result.code}: ${result.message}` };
  return { hash: result.hash, rows: Object.fromEntries(result.rowHashes) };
}

const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

/** Splits sets into parts (rows and bytes bounded) and packs them into message bodies' `sets` arrays. */
export function packSets(
  planned: PlannedSet[],
  newId: () => string,
  budget = INVENTORY_MESSAGE_BUDGET_BYTES,
): InventorySet[][] {
  const parts: InventorySet[] = [];
  for (const s of planned) {
    const setId = newId();
    if (s.mode === 'error') {
      parts.push({ ...s, setId, part: 1, parts: 1 } as InventorySet);
      continue;
    }
    // Chunk upserts then removes so that each part stays under the row cap and the byte budget.
    const chunks: { upserts: Record<string, unknown>[]; removes: string[] }[] = [];
    let cur = { upserts: [] as Record<string, unknown>[], removes: [] as string[] };
    let curBytes = 512;
    const push = () => {
      chunks.push(cur);
      cur = { upserts: [], removes: [] };
      curBytes = 512;
    };
    for (const r of s.upserts) {
      const b = size(r) + 1;
      if (
        cur.upserts.length + cur.removes.length > 0 &&
        (cur.upserts.length + cur.removes.length >= INVENTORY_MAX_ROWS_PER_PART || curBytes + b > budget - 1024)
      )
        push();
      cur.upserts.push(r);
      curBytes += b;
    }
    for (const k of s.removes) {
      const b = size(k) + 1;
      if (
        cur.upserts.length + cur.removes.length > 0 &&
        (cur.upserts.length + cur.removes.length >= INVENTORY_MAX_ROWS_PER_PART || curBytes + b > budget - 1024)
      )
        push();
      cur.removes.push(k);
      curBytes += b;
    }
    push();
    chunks.forEach((c, i) => {
      parts.push({
        probe: s.probe,
        mode: s.mode,
        baseHash: s.baseHash,
        setId,
        part: i + 1,
        parts: chunks.length,
        collectedAt: s.collectedAt,
        hash: s.hash,
        upserts: c.upserts,
        removes: c.removes,
      } as InventorySet);
    });
  }
  const messages: InventorySet[][] = [];
  let batch: InventorySet[] = [];
  let bytes = 256;
  for (const p of parts) {
    const b = size(p) + 1;
    if (batch.length > 0 && (bytes + b > budget || batch.length >= 64)) {
      messages.push(batch);
      batch = [];
      bytes = 256;
    }
    batch.push(p);
    bytes += b;
  }
  if (batch.length) messages.push(batch);
  return messages;
}
