/**
 * Rewrites a bundle as pure ASCII. V8 keeps a script's source for the life of the process (lazy functions are
 * compiled from it, `toString` returns it), and one character above U+00FF makes the whole source a two-byte
 * string: the idle agent's heap snapshot held the 1.1 MB commands' half as 2.3 MB (docs/0009-packaging.md,
 * "Footprint"). esbuild already escapes strings and templates (its default charset is ASCII); what it leaves is in
 * the comments it keeps and in regular-expression literals, where `\uXXXX` stands for the same character.
 * A character after a backslash, outside the Basic Multilingual Plane, or on a line with a template literal (whose
 * raw text `String.raw` would see) could change meaning if escaped: the build stops there instead of guessing.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** @param {string} file a bundle, rewritten in place */
export function asciiOnly(file) {
  const src = readFileSync(file, 'utf8');
  const out = src.replace(/[^\x00-\x7f]/gu, (c, at) => {
    const cp = c.codePointAt(0) ?? 0;
    const line = src.slice(src.lastIndexOf('\n', at) + 1, src.indexOf('\n', at) >>> 0);
    if (cp > 0xffff || src[at - 1] === '\\' || line.includes('`'))
      throw new Error(`${file}: cannot escape U+${cp.toString(16)} safely in: ${line.trim().slice(0, 120)}`);
    return `\\u${cp.toString(16).padStart(4, '0')}`;
  });
  if (out !== src) writeFileSync(file, out);
}
