/**
 * Escaping for the terminal, JSON printed to a terminal, CSV and HTML (see index.ts). Agents and users supply
 * hostnames, check messages, process names, titles and comments; none of it may reach a terminal as a control
 * sequence (OSC 52 clipboard writes, OSC titles, CSI screen clears, BEL, NUL), reorder what a person reads (bidi
 * overrides and isolates), hide characters (zero-width and other format characters), or run as a spreadsheet formula.
 */

/**
 * What must never be printed raw: C0 and C1 controls (ESC, BEL, NUL, CSI 0x9b…) and DEL (`Cc`); format characters
 * (`Cf`: bidi marks, embeddings, overrides and isolates U+200E/F U+202A–202E U+2066–2069 U+061C, zero-width
 * U+200B–200D U+2060–2064 U+FEFF, soft hyphen, tags); line and paragraph separators (U+2028/2029); lone surrogates;
 * and the invisible fillers Unicode classes as letters or marks (U+034F, U+115F, U+1160, U+17B4, U+17B5, U+3164,
 * U+FFA0).
 */
const HAZARD = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115f\u1160\u17b4\u17b5\u3164\uffa0]|\u034f/gu;
/** The same set without C0, which JSON.stringify already escapes inside strings (outside, a line feed is layout). */
const JSON_HAZARD = /[\x7f-\x9f\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115f\u1160\u17b4\u17b5\u3164\uffa0]|\u034f/gu;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** The visible escape of one hazardous character: `\n`, `\x1b`, `\u202e`, `\u{e0001}`. */
function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x100) return `\\x${hex(cp, 2)}`;
  if (cp <= 0xffff) return `\\u${hex(cp, 4)}`;
  return `\\u{${hex(cp, 1)}}`;
}

/**
 * A string safe to print to a terminal: every hazardous character replaced by its visible escape. `multiline` keeps
 * line feeds, tabs and CR LF pairs (free text, a CSV body); otherwise they are escaped too, so one value stays on one
 * line of a table.
 */
export function visible(value: unknown, options: { multiline?: boolean } = {}): string {
  const s = value === null || value === undefined ? '' : String(value);
  return s.replace(HAZARD, (ch: string, at: number) =>
    options.multiline && (ch === '\n' || ch === '\t' || (ch === '\r' && s[at + 1] === '\n')) ? ch : escapeChar(ch),
  );
}

/**
 * JSON for a terminal: still valid JSON, with the hazardous characters JSON.stringify leaves raw (DEL, C1, bidi,
 * zero-width, separators) written as `\uXXXX` escapes, which every JSON parser reads back as the same string.
 */
export function jsonForTerminal(value: unknown, indent = 2): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(JSON_HAZARD, (ch: string) => {
    let out = '';
    for (let i = 0; i < ch.length; i++) out += `\\u${hex(ch.charCodeAt(i), 4)}`;
    return out;
  });
}

/** Cells a spreadsheet would run as a formula (or that start with a control it strips before deciding). */
const FORMULA = /^[=+\-@\t\r]/;

/**
 * One CSV cell: the data is kept, control and invisible characters are escaped visibly (a cell never spans lines),
 * a text cell a spreadsheet would evaluate gets a leading `'`, and the cell is quoted when it needs to be.
 * Numbers and booleans are ours, not text: `-3` stays a number.
 */
export function csvCell(v: unknown): string {
  let s: string;
  if (v === null || v === undefined) s = '';
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') s = String(v);
  else {
    const raw = typeof v === 'object' ? JSON.stringify(v) : String(v);
    s = visible(raw);
    if (FORMULA.test(raw) || FORMULA.test(s)) s = `'${s}`;
  }
  return /[",\n\r]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A CSV document (RFC 4180, CRLF line ends) with every cell made safe by `csvCell`. */
export function toCsv(header: string[], rows: unknown[][]): string {
  return `${[header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/**
 * Text for HTML element content and attribute values: hazardous characters made visible (a bidi override cannot
 * disguise a hostname in a printed report), then the five HTML metacharacters escaped.
 */
export function escapeHtml(v: unknown): string {
  return visible(v)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
