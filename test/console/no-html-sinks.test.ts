/**
 * Agent strings reach the console as JSON and must be rendered as text: no source file of the console may use an
 * API that parses a string as markup or code. Preact escapes every text child; these are the ways around it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/collector.js';

const SINKS = [
  /dangerouslySetInnerHTML/,
  /\.innerHTML\b/,
  /\.outerHTML\b/,
  /insertAdjacentHTML/,
  /document\.write/,
  /createContextualFragment/,
  /\bnew Function\b/,
  /\beval\(/,
  /DOMParser/,
  /srcdoc/,
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : /\.(tsx?|html)$/.test(name) ? [p] : [];
  });
}

describe('console source', () => {
  const sources = [...files(join(repoRoot, 'console/src')), join(repoRoot, 'console/index.html')];

  it('has files to check', () => {
    expect(sources.length).toBeGreaterThan(10);
  });

  it('never hands a string to an HTML or code parser', () => {
    const hits: string[] = [];
    for (const file of sources) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const re of SINKS)
            if (re.test(line)) hits.push(`${file.slice(repoRoot.length)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(hits).toEqual([]);
  });

  it('has no inline script or inline event handler in its page (the CSP would refuse them)', () => {
    const html = readFileSync(join(repoRoot, 'console/index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });
});
