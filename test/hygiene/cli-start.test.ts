/**
 * `outpost-agent --version` and `--help` load only what parsing needs. Each of Node's built-in modules the CLI pulls
 * in is compiled from source at every start under the executable's `--lite-mode` (V8 rejects Node's own code cache
 * when the flags differ), so commander's eager `node:child_process` was measurable (docs/0009-packaging.md,
 * "Fourth round"). agent/scripts/lazy-builtins.mjs makes it load on commander's first spawn, and refuses to build if
 * commander's source changes shape. Needs `pnpm build` (agent/dist/outpost-agent.mjs).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../support/collector.js';

const dir = tempDir('cli-start');
afterAll(() => dir[Symbol.dispose]());
const cli = join(repoRoot, 'agent/dist/outpost-agent.mjs');
const version = (JSON.parse(readFileSync(join(repoRoot, 'agent/package.json'), 'utf8')) as { version: string }).version;

/** Runs the checkout's CLI bundle; returns its stdout and the built-in modules it loaded (process.moduleLoadList). */
function runCli(args: string[]): { status: number | null; stdout: string; modules: string[] } {
  const report = join(dir.path, 'modules.json');
  const hook = `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(process.moduleLoadList)))`;
  const r = spawnSync(process.execPath, ['--require', writeHook(hook), cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, modules: JSON.parse(readFileSync(report, 'utf8')) as string[] };
}

function writeHook(code: string): string {
  const file = join(dir.path, 'hook.cjs');
  writeFileSync(file, code);
  return file;
}

describe('the CLI half at start', () => {
  it('prints --version and --help without loading child_process', () => {
    const v = runCli(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    expect(v.modules).not.toContain('NativeModule child_process');
    const h = runCli(['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/Usage: outpost-agent/);
    expect(h.modules).not.toContain('NativeModule child_process');
  });

  it('refuses to bundle a commander whose use of child_process changed', async () => {
    const agentRequire = createRequire(join(repoRoot, 'agent/package.json'));
    const { build } = (await import(agentRequire.resolve('esbuild'))) as {
      build: (o: Record<string, unknown>) => Promise<unknown>;
    };
    const { lazyCommanderSpawn } = (await import(
      pathToFileURL(join(repoRoot, 'agent/scripts/lazy-builtins.mjs')).href
    )) as {
      lazyCommanderSpawn: () => unknown;
    };
    const lib = join(dir.path, 'node_modules/commander/lib');
    mkdirSync(lib, { recursive: true });
    const bundle = (src: string) => {
      writeFileSync(join(lib, 'command.js'), src);
      return build({
        entryPoints: [join(lib, 'command.js')],
        bundle: true,
        platform: 'node',
        write: false,
        logLevel: 'silent',
        plugins: [lazyCommanderSpawn()],
      });
    };
    const eager = "const childProcess = require('node:child_process');\n";
    await expect(bundle(`${eager}module.exports = () => childProcess.spawn('true');`)).resolves.toBeDefined();
    await expect(bundle(`${eager}module.exports = () => childProcess.fork('x');`)).rejects.toThrow(
      /lazyCommanderSpawn/,
    );
    await expect(bundle("const cp = require('child_process');")).rejects.toThrow(/lazyCommanderSpawn/);
  });
});
