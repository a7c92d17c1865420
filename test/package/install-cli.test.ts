/**
 * `outpost-agent install` from a checkout (`--executable`, `--root`), as a process against a real collector on
 * loopback: enrolls from scratch into the staged tree and prints nothing under --silent; the same line again changes
 * nothing; usage errors exit 2 with one line; from a Node checkout without --executable it refuses clearly. Needs
 * `pnpm build`; no root (the real service manager is exercised by systemd-install.test.ts).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBin, spawnNode, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';

const dir = tempDir('install-cli');
const root = join(dir.path, 'root');
const exe = join(dir.path, 'outpost-agent');
let c: TestCollector;
let token = '';

/** Runs the checkout's agent CLI; resolves with its exit code and output. */
async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnNode(agentBin, args, { OUTPOST_LOG_LEVEL: '', OUTPOST_INSTALL_ROOT: '' });
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

const installArgs = () => [
  'install',
  '--server',
  c.agentUrl,
  '--token',
  token,
  ...(c.fingerprint ? ['--ca-fingerprint', c.fingerprint] : []),
  '--executable',
  exe,
  '--root',
  root,
];

beforeAll(async () => {
  // A stand-in for the packaged executable: install only asks it for its version.
  writeFileSync(exe, '#!/bin/sh\n[ "$1" = --version ] && echo 0.1.0\n', { mode: 0o755 });
  c = await startTestCollector();
  token = (await c.enrollmentToken()).token;
});

afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe('outpost-agent install (checkout, --root)', () => {
  it('enrolls from scratch and prints nothing under --silent; the same line again changes nothing', async () => {
    const r = await cli(...installArgs(), '--silent');
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    const configFile = join(root, 'etc/outpost/agent.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as { agentId: string; stateDir: string };
    expect(config.stateDir).toBe(join(root, 'var/lib/outpost'));
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(configFile, 'utf8')).not.toContain(token);
    // Enrolled for real: the collector knows the agent (offline: --root starts nothing).
    const agent = await apiCall<{ id: string; status: string }>(c.admin, 'GET', `/api/v1/agents/${config.agentId}`);
    expect(agent).toMatchObject({ id: config.agentId, status: expect.not.stringMatching(/^online$/) });

    const again = await cli(...installArgs());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`0\\.1\\.0 is installed as agent ${config.agentId}; nothing changed`));
  });

  it('exits 2 with one line on a usage error under --silent, and 0 for --help', async () => {
    const missing = await cli('install', '--token', token, '--silent');
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([
      "outpost-agent install: error: required option '--server <url>' not specified",
    ]);
    const unknown = await cli('uninstall', '--purg', '--silent');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    const help = await cli('install', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/4 another install running, 5 not root/);
  });

  it('refuses to install a Node checkout without --executable (exit 2), naming the way out', async () => {
    const r = await cli('install', '--server', c.agentUrl, '--token', token, '--root', root);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/OUTPOST_E_INSTALL_ARGUMENTS: .*Node checkout.*--executable PATH/);
  });

  it('uninstalls the staged tree with --purge', async () => {
    const r = await cli('uninstall', '--purge', '--root', root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^removed .*outpost-agent\.service.*\/opt\/outpost.*\/etc\/outpost/);
    expect(await cli('uninstall', '--purge', '--root', root, '--silent')).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
