/**
 * The packaging tests' executables, built once per test run and shared between test files.
 *
 * Building an agent takes seconds (the installers, which xz-compress 100 MB each, take minutes and are built only by
 * the installers' own tests), and several files need the same build: the agent executable and the systemd install
 * both run the linux-x64 agent of this checkout's version, the update and the systemd upgrade both need it stamped one
 * patch higher, two collector tests run the same collector. Builds run as child processes so that the vitest worker
 * keeps answering its runner (a synchronous build blocks it for minutes: "Timeout calling onTaskUpdate").
 *
 * The cache directory comes from `package-builds.setup.ts` (vitest `provide`), which removes it after the run; the
 * first file to ask for a build takes a lock directory and builds, the others wait for its result.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { repoRoot, tempDir } from './collector.js';

declare module 'vitest' {
  export interface ProvidedContext {
    packageBuilds: string;
  }
}

/** The version in agent/package.json: what an unstamped build reports. */
export const BASE_VERSION = (
  JSON.parse(readFileSync(join(repoRoot, 'agent/package.json'), 'utf8')) as { version: string }
).version;
/** The same code stamped one patch higher: the upgrade every update test installs. */
export const NEXT_VERSION = BASE_VERSION.replace(/\.(\d+)$/, (_, p: string) => `.${Number(p) + 1}`);

/** A build's output directory (executables and manifest.json; shared: copy, never modify), or why it cannot be had. */
export type Built = { dir: string; skip?: undefined } | { skip: string; dir?: undefined };

/** Exit code of the packaging scripts when a runtime or prebuilt addon cannot be had here (the test skips, saying so). */
const UNAVAILABLE = 3;

let fallback: ReturnType<typeof tempDir> | undefined;
function cacheRoot(): string {
  try {
    return inject('packageBuilds');
  } catch {
    // Run outside the `test` project's setup: a private directory for this file.
    fallback ??= tempDir('package-builds');
    return fallback.path;
  }
}

function runScript(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(join(repoRoot, 'node_modules/.bin/tsx'), args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    };
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, output }));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `scripts/package/<script> ...args --out DIR` once per run for these arguments; `fresh` always builds anew. */
async function build(script: string, args: string[], fresh = false): Promise<Built> {
  const key = createHash('sha256')
    .update(JSON.stringify([script, ...args]))
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheRoot(), fresh ? `${key}-${Date.now()}-${process.pid}` : key);
  const done = join(dir, '.built.json');
  const lock = `${dir}.lock`;
  const result = (): Built => {
    const r = JSON.parse(readFileSync(done, 'utf8')) as { code: number | null; output: string };
    if (r.code === 0) return { dir };
    if (r.code === UNAVAILABLE) return { skip: r.output.trim() };
    throw new Error(`scripts/package/${script} ${args.join(' ')} failed (${r.code}):\n${r.output}`);
  };
  if (existsSync(done)) return result();
  try {
    mkdirSync(lock);
  } catch {
    // Another test file is building it: wait for its result.
    while (!existsSync(done)) await sleep(250);
    return result();
  }
  try {
    rmSync(dir, { recursive: true, force: true });
    const r = await runScript([join('scripts/package', script), ...args, '--out', dir]);
    mkdirSync(dir, { recursive: true });
    writeFileSync(done, JSON.stringify(r));
  } catch (err) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(done, JSON.stringify({ code: null, output: String(err) }));
  }
  return result();
}

/** The agent executable(s) for these targets, without installers. */
export function packageAgent(opts: { targets: string[]; version?: string; fresh?: boolean }): Promise<Built> {
  const args = [...opts.targets.flatMap((t) => ['--target', t]), '--skip-installers'];
  if (opts.version) args.push('--version', opts.version);
  return build('build.ts', args, opts.fresh);
}

/** The collector executable for one target (`offline`: only from cached addons, never compiled). */
export function packageCollector(opts: { target: string; offline?: boolean }): Promise<Built> {
  return build('collector.ts', ['--target', opts.target, ...(opts.offline ? ['--offline'] : [])]);
}
