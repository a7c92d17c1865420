/**
 * outpost-svc.exe, the Windows service host (outpost-svc/svc_main.c), cross-compiled with mingw-w64; and the native
 * Linux build of its pure part (svc_core_cli), which the tests drive. Fixed flags and no PE timestamp
 * (-Wl,--no-insert-timestamp) so two builds give the same bytes.
 */
import { mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool, run } from './common.js';

const src = fileURLToPath(new URL('./outpost-svc/', import.meta.url));
const FLAGS = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Wformat=2', '-Werror'];
const MINGW = 'x86_64-w64-mingw32-gcc';

/** Builds outpost-svc.exe (PE32+ x86-64, console subsystem, static against msvcrt) into outDir. */
export function buildServiceHost(outDir: string, version: string, epoch: number): string {
  requireTool(MINGW, 'gcc-mingw-w64-x86-64');
  if (!/^[0-9A-Za-z.+-]+$/.test(version)) throw new Error(`version ${version} cannot be compiled in`);
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'outpost-svc.exe');
  run(
    MINGW,
    [
      ...FLAGS,
      `-DOUTPOST_SVC_VERSION="${version}"`,
      '-o',
      out,
      'svc_main.c',
      'svc_core.c',
      '-lshell32',
      '-s',
      '-Wl,--no-insert-timestamp',
      '-Wl,--build-id=none',
    ],
    { cwd: src },
  );
  utimesSync(out, epoch, epoch);
  return out;
}

/** Builds the Linux test front end of the service host's pure logic (gcc), returns its path. */
export function buildServiceCoreCli(outDir: string): string {
  requireTool('gcc', 'gcc');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'svc_core_cli');
  run('gcc', [...FLAGS, '-o', out, 'svc_core.c', 'svc_core_cli.c'], { cwd: src });
  return out;
}
