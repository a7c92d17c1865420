import { describe, expect, it } from 'vitest';
import { csvCell, escapeHtml, jsonForTerminal, toCsv, visible } from './index.js';

/** Hostile strings an agent or a user can supply, each with what a person must see instead. */
const HOSTILE: [name: string, raw: string, shown: string][] = [
  ['OSC 52 clipboard write', '\x1b]52;c;cm0gLXJmIH4=\x07', '\\x1b]52;c;cm0gLXJmIH4=\\x07'],
  ['OSC 0 window title', '\x1b]0;pwned\x1b\\', '\\x1b]0;pwned\\x1b\\'],
  ['CSI clear screen', '\x1b[2J\x1b[H', '\\x1b[2J\\x1b[H'],
  ['8-bit CSI', '\x9b2J', '\\x9b2J'],
  ['BEL, NUL, DEL', 'a\x07b\x00c\x7f', 'a\\x07b\\x00c\\x7f'],
  ['right-to-left override', 'invoice\u202etxt.exe', 'invoice\\u202etxt.exe'],
  ['isolates and marks', '\u2066a\u2069\u200e\u200f\u061c', '\\u2066a\\u2069\\u200e\\u200f\\u061c'],
  ['zero-width', 'we\u200bb\u200c0\u200d1\ufeff\u2060', 'we\\u200bb\\u200c0\\u200d1\\ufeff\\u2060'],
  ['invisible fillers', 'a\u3164b\u034fc\u00adc', 'a\\u3164b\\u034fc\\xadc'],
  ['tag characters', 'x\u{e0041}', 'x\\u{e0041}'],
  ['line separators', 'a\u2028b\u2029', 'a\\u2028b\\u2029'],
  ['newlines and tabs (one line)', 'a\nb\r\tc', 'a\\nb\\r\\tc'],
];

describe('visible(): nothing hazardous reaches a terminal, nothing is hidden', () => {
  it.each(HOSTILE)('%s', (_name, raw, shown) => {
    expect(visible(raw)).toBe(shown);
    expect(visible(raw)).not.toMatch(/[\p{Cc}\p{Cf}]/u);
  });

  it('keeps ordinary text, accents, CJK and emoji as they are', () => {
    const s = 'Poste de José — 東京 ✓ 🖥 C:\\Program Files';
    expect(visible(s)).toBe(s);
  });

  it('multiline keeps LF, TAB and CR LF but not a lone CR or anything else', () => {
    expect(visible('a\nb\tc\r\nd\re\x1b[2J', { multiline: true })).toBe('a\nb\tc\r\nd\\re\\x1b[2J');
  });

  it('null and undefined print as nothing', () => {
    expect(visible(null)).toBe('');
    expect(visible(undefined)).toBe('');
  });
});

describe('jsonForTerminal(): still valid JSON, same data, no raw hazard', () => {
  it('round-trips every hostile string and leaves none raw', () => {
    const value = { names: HOSTILE.map(([, raw]) => raw), '\u202ekey': 1 };
    const text = jsonForTerminal(value);
    // Indentation line feeds are JSON's own; nothing else of the kind may be raw.
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\p{Cf}\u2028\u2029]/u);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('CSV: data kept, formulas neutralised, controls escaped', () => {
  it.each([
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+cmd|/C calc', "'+cmd|/C calc"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tTAB', "'\\tTAB"],
    ['\rCR', "'\\rCR"],
    ['pc\x1b]52;c;eA==\x07', 'pc\\x1b]52;c;eA==\\x07'],
    ['name\u202eexe', 'name\\u202eexe'],
    ['a,b', '"a,b"'],
    ['two\nlines', 'two\\nlines'],
    [' padded', '" padded"'],
  ])('%j → %s', (raw, cell) => {
    expect(csvCell(raw)).toBe(cell);
  });

  it('numbers stay numbers (a negative count is not a formula)', () => {
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(true)).toBe('true');
    expect(csvCell(null)).toBe('');
  });

  it('a document has one line per row whatever the cells hold', () => {
    const csv = toCsv(
      ['host', 'n'],
      [
        ['a\r\nb', 1],
        ['=1+1', 2],
      ],
    );
    expect(csv.split('\r\n')).toEqual(['host,n', 'a\\r\\nb,1', "'=1+1,2", '']);
  });
});

describe('escapeHtml', () => {
  it('escapes markup and shows controls and bidi overrides', () => {
    expect(escapeHtml(`<img src=x onerror="a('b')">&\u202e\x1b[2J`)).toBe(
      '&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;\\u202e\\x1b[2J',
    );
  });
});
