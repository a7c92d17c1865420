/**
 * Every `outpost …` and `outpost-agent …` command that an error hint, an error message or a CLI string names exists
 * in that program's commander tree, with the flags it names (issue 17: a hint sent people to `outpost agents get`,
 * which does not exist). The programs are asked through their own `--help`, as a person would check.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { agentBin, outpostBin, repoRoot } from '../support/collector.js';

const BINS = { outpost: outpostBin, 'outpost-agent': agentBin } as const;

/** Where commands are named for people: the error catalogue and the sources of the three packages. */
function namedCommands(): { where: string; text: string }[] {
  const found: { where: string; text: string }[] = [];
  for (const [code, spec] of Object.entries(ERRORS))
    for (const text of [spec.hint, spec.message])
      for (const m of text.matchAll(/`(outpost[^`]*)`/g)) found.push({ where: code, text: m[1]! });
  // Every source file of the three packages: hints, messages, help texts and the comments that tell people what to run.
  const sources = ['collector/src', 'agent/src', 'shared/src'].flatMap((dir) =>
    readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => `${dir}/${f}`),
  );
  for (const file of [...new Set(sources)]) {
    const text = readFileSync(join(repoRoot, file), 'utf8');
    // In a template literal a command sits between escaped backquotes.
    for (const m of text.matchAll(/\\?`(outpost(?:-agent)? [^`$\\]*)\\?`/g)) found.push({ where: file, text: m[1]! });
  }
  return found;
}

/** Node starts in flight at once: enough to use both cores, few enough not to starve the rest of the suite. */
const PARALLEL = 4;
let running = 0;
const queue: (() => void)[] = [];
async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((r) => queue.push(r));
  running++;
  try {
    return await work();
  } finally {
    running--;
    queue.shift()?.();
  }
}

/** `<bin> <words> --help`, run once per command level, asynchronously (a synchronous loop of ~40 Node starts blocks
 * the vitest worker long enough for its runner to time out). */
const helpCache = new Map<string, Promise<string>>();
function help(bin: keyof typeof BINS, words: string[]): Promise<string> {
  const key = `${bin} ${words.join(' ')}`;
  let text = helpCache.get(key);
  if (text === undefined) {
    text = slot(
      () =>
        new Promise<string>((resolve, reject) => {
          execFile(process.execPath, [BINS[bin], ...words, '--help'], { timeout: 60_000 }, (error, stdout, stderr) => {
            if (error || !stdout.includes('Usage:'))
              reject(new Error(`${key} --help: ${error?.message ?? 'no usage'}\n${stderr}`));
            else resolve(stdout);
          });
        }),
    );
    helpCache.set(key, text);
  }
  return text;
}

/** The subcommand names a help text lists. */
function subcommands(helpText: string): string[] {
  const section = helpText.split(/^Commands:$/m)[1];
  if (!section) return [];
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
}

/** Checks one named command; returns what is wrong with it, or undefined. */
async function problem(text: string): Promise<string | undefined> {
  const [bin, ...rest] = text.split(/\s+/) as [keyof typeof BINS, ...string[]];
  const path: string[] = [];
  for (const word of rest) {
    const subs = subcommands(await help(bin, path));
    if (subs.length === 0) break;
    // `sessions list|play|join`: every alternative must exist.
    const alternatives = word.split('|');
    if (!alternatives.every((w) => /^[a-z][a-z-]*$/.test(w))) break;
    const missing = alternatives.filter((w) => !subs.includes(w));
    if (missing.length > 0)
      return `${[bin, ...path].join(' ')} has no subcommand ${missing.join(', ')} (has ${subs.join(', ')})`;
    if (alternatives.length > 1) break;
    path.push(word);
  }
  const known = `${await help(bin, path)}\n${await help(bin, [])}`;
  for (const [flag] of text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) {
    if (flag === '--help' || flag === '--version') continue;
    if (!new RegExp(`(?<![\\w-])${flag}(?![\\w-])`).test(known))
      return `${[bin, ...path].join(' ')} has no flag ${flag}`;
  }
  return undefined;
}

describe('commands named in hints and messages', () => {
  const named = namedCommands();

  it('finds the commands it checks (the scan itself works)', () => {
    const texts = named.map((n) => n.text);
    expect(texts).toContain('outpost agents show <id>');
    expect(texts).toContain('outpost tokens create --site <site>');
    expect(named.length).toBeGreaterThan(20);
  });

  it('each exists in its program, with the flags it names', async () => {
    const found = await Promise.all(named.map(async ({ where, text }) => ({ where, text, p: await problem(text) })));
    const wrong = found.flatMap(({ where, text, p }) => (p ? [`${where}: \`${text}\`: ${p}`] : []));
    expect(wrong).toEqual([]);
  }, 180_000); // one `--help` per command level, each a Node start (~40 of them)

  it('the check catches a command that does not exist', async () => {
    expect(await problem('outpost agents get <id>')).toMatch(/no subcommand get/);
    expect(await problem('outpost tokens create --sight x')).toMatch(/no flag --sight/);
    expect(await problem('outpost-agent enrol --server URL')).toMatch(/no subcommand enrol/);
  });
});
