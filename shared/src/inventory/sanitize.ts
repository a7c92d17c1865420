/**
 * Text from an agent is hostile until cleaned: terminal escape sequences and control characters are removed and the
 * length is bounded, so nothing an agent reports can move a technician's cursor, forge a log line or grow unbounded.
 * Both sides use the same function, so a cleaned value hashes the same on the agent and the collector.
 */

// CSI, OSC (ended by BEL or ST), and other two-character ESC sequences; then C0/C1 controls and DEL.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]/g;
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
const NEWLINES = /[\t\n]/g;
// Unicode bidi overrides and zero-width characters that can disguise a name in a report.
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Cleans one agent-supplied string: no escapes, no controls (tabs and newlines become spaces), at most `max` chars. */
export function sanitizeText(value: string, max = 256): string {
  let s = value;
  if (s.length > max * 4) s = s.slice(0, max * 4);
  s = s.replace(ESCAPES, '').replace(NEWLINES, ' ').replace(CONTROLS, '').replace(INVISIBLE, '').trim();
  if (s.length > max) {
    s = s.slice(0, max);
    // Never leave half of a surrogate pair at the end.
    const last = s.charCodeAt(s.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) s = s.slice(0, -1);
  }
  return s;
}

/** Cleans every string of a row (and of string arrays inside it), bounded by `max`; other values are kept. */
export function sanitizeRow<T extends Record<string, unknown>>(row: T, max = 512): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === 'string') out[k] = sanitizeText(v, max);
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'string' ? sanitizeText(x, max) : x));
    else out[k] = v;
  }
  return out as T;
}
