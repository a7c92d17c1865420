/**
 * What every installer builder shares: its input (any executable, so tests can feed a small dummy one), the tool
 * check that turns a missing packaging tool into a clear skip, and reproducible file times.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

/** One executable to wrap in installers. */
export interface InstallerInput {
  /** The agent executable (the SEA from build.ts, or any file: the builders never run it). */
  executable: string;
  /** The agent's version (agent/package.json), e.g. 0.1.0 or 1.2.0-rc.1; names the versions/<version> directory. */
  version: string;
  /** The target it runs on: linux-x64, linux-arm64 or win-x64. */
  platform: string;
  /** Where the installer is written. */
  outDir: string;
  /** Time stamped on every file and archive entry (SOURCE_DATE_EPOCH). */
  epoch: number;
}

/** A packaging tool is not installed: the installer is skipped with this message (never a silent pass). */
export class ToolMissing extends Error {}

/** Fails with ToolMissing, naming the Debian package to install, when `tool` cannot be run. */
export function requireTool(tool: string, debianPackage: string, versionArg = '--version'): void {
  const r = spawnSync(tool, [versionArg], { stdio: 'ignore' });
  if (r.error) throw new ToolMissing(`${tool} is not installed (apt-get install -y ${debianPackage})`);
}

/** Runs a tool; its output is returned, or an error with its stderr is thrown. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Sets the modification time of a tree's every file and directory (deepest first) to `epoch`. */
export function stampTree(dir: string, epoch: number): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) stampTree(p, epoch);
    else utimesSync(p, epoch, epoch);
  }
  utimesSync(dir, epoch, epoch);
}

/**
 * The package-manager spelling of a semver version: deb and rpm sort `~` before anything, so 1.2.0~rc.1 comes
 * before 1.2.0 as semver says; rpm refuses `-` in a version.
 */
export function packageVersion(version: string): string {
  if (!/^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.]+)?(?:\+[0-9A-Za-z.]+)?$/.test(version)) {
    throw new Error(`version ${version} is not semver (x.y.z[-pre][+build])`);
  }
  return version.replace(/\+.*$/, '').replace('-', '~');
}

/** SHA-256 of a file, hex. */
export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The POSIX package scripts' shared body (posix/maint.sh). */
export function maintainerBody(): string {
  return readFileSync(new URL('./posix/maint.sh', import.meta.url), 'utf8');
}

/** One package script: a shebang, the version, the shared functions, then `call`. */
export function maintainerScript(version: string, call: string, shebang = true): string {
  if (!/^[0-9A-Za-z.+_-]+$/.test(version)) throw new Error(`version ${version} has characters a path must not have`);
  return `${shebang ? '#!/bin/sh\n' : ''}set -e\nOUTPOST_VERSION='${version}'\n${maintainerBody()}\n${call}\n`;
}
