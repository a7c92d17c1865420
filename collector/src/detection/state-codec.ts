/**
 * The binary checkpoint of `DetectionState` (stored by store.ts): one entry per key, Float64 fields, so a restart
 * neither re-raises nor loses an open incident. Keys: `agentId|metric` (series), `rule|…`, `check|…`, `absent|…`,
 * `inv|…`. Readers accept what older versions wrote (see `decodeSeries`).
 */
import { BASELINE_STATE_LENGTH, newBaselineState } from './baseline.js';
import type { DetectionState, SeriesState } from './state.js';

/** Float64 fields of a series' incident state, after its baseline state. */
const EXTRA = 9;

function encodeSeries(st: SeriesState): Uint8Array {
  const buf = new Float64Array(BASELINE_STATE_LENGTH + EXTRA);
  buf.set(st.b);
  const o = BASELINE_STATE_LENGTH;
  buf[o] = st.open ? (st.shift > 0 ? 2 : st.shift < 0 ? 3 : 1) : 0;
  buf[o + 1] = st.calm;
  buf[o + 2] = st.tBreach;
  buf[o + 3] = st.tClear;
  buf[o + 4] = st.tOpen ? 1 : 0;
  buf[o + 5] = st.fOpen ? 1 : 0;
  buf[o + 6] = st.fT;
  buf[o + 7] = st.fX;
  buf[o + 8] = st.fSlope;
  return new Uint8Array(buf.buffer);
}

const triple = (a: number, b: number, open: boolean) => new Uint8Array(new Float64Array([a, b, open ? 1 : 0]).buffer);

/** Serialises every state (for the checkpoint). */
export function encodeState(state: DetectionState): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [id, st] of state.series) out.set(id, encodeSeries(st));
  for (const [id, r] of state.rules)
    if (r.open || r.breach >= 0) out.set(`rule|${id}`, triple(r.breach, r.clear, r.open));
  for (const a of state.absent) out.set(`absent|${a}`, new Uint8Array(0));
  for (const k of state.invOpen) out.set(`inv|${k}`, new Uint8Array(0));
  for (const [id, c] of state.checks) out.set(`check|${id}`, triple(c.fails, c.first, c.open));
  return out;
}

/** Three Float64 fields, or undefined when the bytes are not that. */
function readTriple(bytes: Uint8Array): [number, number, number] | undefined {
  if (bytes.byteLength !== 24) return undefined;
  const [a, b, c] = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 24));
  return [a!, b!, c!];
}

/**
 * A series state, or undefined for bytes no version wrote. The incident state sits after the baseline state: a
 * checkpoint written by a version whose baseline state had another layout relearns the baseline but keeps its open
 * incidents (they still clear, and are not re-raised).
 */
function decodeSeries(bytes: Uint8Array): SeriesState | undefined {
  if (bytes.byteLength % 8 !== 0 || bytes.byteLength < EXTRA * 8) return undefined;
  const buf = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const o = buf.length - EXTRA;
  return {
    b: o === BASELINE_STATE_LENGTH ? buf.slice(0, o) : newBaselineState(),
    open: buf[o]! >= 1,
    shift: buf[o] === 2 ? 1 : buf[o] === 3 ? -1 : 0,
    calm: buf[o + 1]!,
    tBreach: buf[o + 2]!,
    tClear: buf[o + 3]!,
    tOpen: buf[o + 4] === 1,
    fOpen: buf[o + 5] === 1,
    fT: buf[o + 6]!,
    fX: buf[o + 7]!,
    fSlope: buf[o + 8]!,
  };
}

/** Restores states written by `encodeState` into `state` (after a restart). Unreadable entries are skipped. */
export function decodeState(entries: ReadonlyMap<string, Uint8Array>, state: DetectionState): void {
  for (const [id, bytes] of entries) {
    if (id.startsWith('absent|')) state.absent.add(id.slice(7));
    else if (id.startsWith('inv|')) state.invOpen.add(id.slice(4));
    else if (id.startsWith('rule|')) {
      const t = readTriple(bytes);
      if (t) state.rules.set(id.slice(5), { breach: t[0], clear: t[1], open: t[2] === 1 });
    } else if (id.startsWith('check|')) {
      const t = readTriple(bytes);
      if (t) state.checks.set(id.slice(6), { fails: t[0], first: t[1], open: t[2] === 1 });
    } else {
      const st = decodeSeries(bytes);
      if (st) state.series.set(id, st);
    }
  }
}

/** Forgets every per-agent state of these agents (their absence stays: it is the fleet sweep's). */
export function dropAgents(state: DetectionState, agents: ReadonlySet<string>): void {
  const mine = (id: string) => agents.has(id.slice(0, id.indexOf('|')));
  for (const id of state.series.keys()) if (mine(id)) state.series.delete(id);
  for (const id of state.rules.keys()) if (mine(id)) state.rules.delete(id);
  for (const id of state.checks.keys()) if (mine(id)) state.checks.delete(id);
  for (const k of state.invOpen)
    if (agents.has(k.slice('inventory:'.length, k.indexOf(':', 'inventory:'.length)))) state.invOpen.delete(k);
}
