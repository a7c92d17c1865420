/**
 * Guards DESIGN.md's rule "stores are async, so PostgreSQL can come later": every public method of every class a store
 * module exports returns a Promise (declared `async`, or typed `Promise<…>`), and so does every exported function.
 * Private members (`#x`, `private`) may stay synchronous: that is the SQLite work inside. A store module is a
 * concern's `store.ts` or `*-store.ts`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../', import.meta.url));

/** Every store module of the collector. */
function storeModules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return storeModules(p);
    return /(^|-)store\.ts$/.test(e.name) ? [p] : [];
  });
}

const has = (node: ts.Node, kind: ts.SyntaxKind) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);

/** True when a function-like declaration hands back a Promise. */
function returnsPromise(fn: ts.SignatureDeclarationBase): boolean {
  if (has(fn, ts.SyntaxKind.AsyncKeyword)) return true;
  const t = fn.type;
  return t !== undefined && ts.isTypeReferenceNode(t) && t.typeName.getText() === 'Promise';
}

/** `file:line name` of each exported synchronous public method or function in a module's text. */
export function syncSurface(name: string, text: string): string[] {
  const sf = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
  const at = (n: ts.Node) => `${name}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const out: string[] = [];
  for (const stmt of sf.statements) {
    if (!has(stmt, ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isFunctionDeclaration(stmt) && !returnsPromise(stmt)) out.push(`${at(stmt)} ${stmt.name?.text}`);
    if (!ts.isClassDeclaration(stmt)) continue;
    for (const m of stmt.members) {
      if (ts.isConstructorDeclaration(m) || !m.name || ts.isPrivateIdentifier(m.name)) continue;
      if (has(m, ts.SyntaxKind.PrivateKeyword) || has(m, ts.SyntaxKind.ProtectedKeyword)) continue;
      const label = `${at(m)} ${stmt.name?.text}.${m.name.getText()}`;
      if (ts.isMethodDeclaration(m) && !returnsPromise(m)) out.push(label);
      if (ts.isGetAccessorDeclaration(m) || ts.isSetAccessorDeclaration(m)) out.push(label);
      if (ts.isPropertyDeclaration(m) && m.initializer && ts.isArrowFunction(m.initializer))
        if (!returnsPromise(m.initializer)) out.push(label);
    }
  }
  return out;
}

describe('async stores', () => {
  it('no store module exports a synchronous public method or function', () => {
    const modules = storeModules(src);
    expect(modules.length).toBeGreaterThan(10);
    const offenders = modules.flatMap((f) => syncSurface(relative(src, f), readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('flags what it must: a sync method, a sync function, a getter, a sync arrow property', () => {
    const text = `
      export class S {
        #ok() { return 1; }
        private alsoOk() { return 1; }
        async fine() { return 1; }
        typed(): Promise<number> { return Promise.resolve(1); }
        bad(): number { return 1; }
        get count() { return 1; }
        arrow = () => 1;
      }
      export function helper() { return 1; }
      export async function fineToo() { return 1; }
      function local() { return 1; }`;
    expect(syncSurface('x.ts', text).map((o) => o.split(' ')[1])).toEqual(['S.bad', 'S.count', 'S.arrow', 'helper']);
  });
});
