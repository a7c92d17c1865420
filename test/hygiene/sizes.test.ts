/**
 * Size limits for source (tests, fixtures and generated files aside): no file over 450 lines, no function over 80.
 * A long unit reads as one long story and hides its phases; splitting it along meaning gives them names. Where a
 * function is better whole (a table of data, a state machine read in one place), the line above it says so with a
 * comment starting `// whole:` and why; such functions are counted and listed, not refused. A file better whole is
 * named in WHOLE_FILES with its reason.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/collector.js';

const MAX_FILE_LINES = 450;
const MAX_FUNCTION_LINES = 80;
const SOURCE_DIRS = ['agent/src', 'collector/src', 'shared/src', 'console/src', 'scripts'];
/** Files better whole, and why. */
const WHOLE_FILES: Record<string, string> = {
  'shared/src/errors.ts':
    'the error catalogue: one table of codes, read, reviewed and turned into docs/errors.md as one',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sourceFiles(p);
    if (!/\.tsx?$/.test(e.name) || /\.d\.ts$/.test(e.name)) return [];
    return /\.test\.tsx?$|fixture/.test(e.name) ? [] : [p];
  });
}

interface LongFunction {
  where: string;
  name: string;
  lines: number;
  whole: boolean;
}

/** Functions of one file longer than the limit, with whether a `// whole:` comment vouches for each. */
export function longFunctions(file: string, text: string): LongFunction[] {
  const kind = file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const lines = text.split('\n');
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      if (end - start + 1 > MAX_FUNCTION_LINES) {
        const named = (node as { name?: ts.Node }).name;
        const name =
          named?.getText(source) ??
          (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText(source) : '(anonymous)');
        const above = lines.slice(Math.max(0, start - 3), start).join('\n');
        found.push({ where: `${file}:${start + 1}`, name, lines: end - start + 1, whole: /\/\/ whole:/.test(above) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const files = SOURCE_DIRS.flatMap((d) => sourceFiles(join(repoRoot, d))).map((f) => ({
  file: relative(repoRoot, f),
  text: readFileSync(f, 'utf8'),
}));

describe('source sizes', () => {
  it(`no source file is over ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map(({ file, text }) => `${file}: ${text.split('\n').length}`)
      .filter((s) => Number(s.split(': ')[1]) > MAX_FILE_LINES && !(s.split(': ')[0]! in WHOLE_FILES));
    expect(long).toEqual([]);
  });

  it(`no function is over ${MAX_FUNCTION_LINES} lines unless a "// whole:" comment says why`, () => {
    const all = files.flatMap(({ file, text }) => longFunctions(file, text));
    expect(all.filter((f) => !f.whole).map((f) => `${f.where} ${f.name} (${f.lines} lines)`)).toEqual([]);
  });

  it('the checker finds a long function and honours the comment', () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const v${i} = ${i};`).join('\n');
    expect(longFunctions('x.ts', `function f() {\n${body}\n}\n`)).toMatchObject([{ name: 'f', whole: false }]);
    expect(longFunctions('x.ts', `// whole: a table\nconst g = () => {\n${body}\n};\n`)).toMatchObject([
      { name: 'g', whole: true },
    ]);
    expect(longFunctions('x.ts', 'function h() {\n  return 1;\n}\n')).toEqual([]);
  });
});
