/**
 * Reads an asciicast v2 recording (collector/src/sessions/recorder.ts writes them): a JSON header line, then one
 * `[seconds, "o" | "i" | "r", data]` event per line. The text is the agent's output: it is only ever written to
 * xterm, never to the page. Malformed lines are skipped; sizes are clamped.
 */

/** A parsed recording: the terminal size and the output events in order. */
export interface Cast {
  cols: number;
  rows: number;
  events: { t: number; kind: 'o' | 'r'; data: string }[];
}

const clamp = (n: unknown, lo: number, hi: number, dflt: number) =>
  typeof n === 'number' && Number.isFinite(n) ? Math.min(hi, Math.max(lo, Math.round(n))) : dflt;

export function parseCast(text: string): Cast {
  const lines = text.split('\n');
  let header: { width?: unknown; height?: unknown } = {};
  try {
    header = JSON.parse(lines[0] ?? '{}') as typeof header;
  } catch {
    // a recording without a readable header still replays at 80x24
  }
  const events: Cast['events'] = [];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as unknown;
      if (!Array.isArray(e) || typeof e[0] !== 'number' || typeof e[2] !== 'string') continue;
      if (e[1] === 'o' || e[1] === 'r') events.push({ t: e[0], kind: e[1], data: e[2] });
    } catch {
      // skip a broken line
    }
  }
  return { cols: clamp(header.width, 2, 500, 80), rows: clamp(header.height, 2, 200, 24), events };
}
