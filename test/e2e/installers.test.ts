/**
 * `outpost installers create` end to end: a real collector (TLS with its generated certificate) serving a small
 * installers directory, the CLI (built, as a person runs it) creating the token and printing the one-liners, and the
 * POSIX line run for real with sh and curl. The "agent" it downloads is a stand-in script that records its arguments
 * and enrolls the real agent with them (`outpost-agent install` is another slice), so the test checks the download
 * through the pinned key, the hash check, that a file which is not the one the line was printed for is refused before
 * it runs (a republished file, a tampered one), that another key is refused, and that the token enrolls an agent on
 * the site. The PowerShell line is checked structurally (no pwsh here).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentBin,
  outpostBin,
  spawnNode,
  spawnProcess,
  startTestCollector,
  type TestCollector,
  tempDir,
} from '../support/collector.js';

const dir = tempDir('installers');
const packages = join(dir.path, 'packages');
const agentHome = join(dir.path, 'agent-home');
const argsLog = join(dir.path, 'install-args');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
let c: TestCollector;

/** The stand-in agent: records `install …` and enrolls the real agent with the same server, token and pin. */
function fakeAgent(marker: string): Buffer {
  return Buffer.from(`#!/bin/sh
# ${marker}
set -eu
printf '%s\\n' "$@" > ${JSON.stringify(argsLog)}
[ "$1" = install ] || exit 64
shift
server= token= fp=
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=$2; shift 2 ;;
    --token) token=$2; shift 2 ;;
    --ca-fingerprint) fp=$2; shift 2 ;;
    --silent) shift ;;
    *) exit 64 ;;
  esac
done
exec ${JSON.stringify(process.execPath)} ${JSON.stringify(agentBin)} --config ${JSON.stringify(join(agentHome, 'agent.json'))} enroll --server "$server" --token "$token" --ca-fingerprint "$fp"
`);
}

function publish(files: { file: string; platform: string; body: Buffer }[]): void {
  for (const f of files) writeFileSync(join(packages, f.file), f.body);
  writeFileSync(
    join(packages, 'manifest.json'),
    JSON.stringify({
      agentVersion: '0.1.0',
      files: files.map((f) => ({ file: f.file, platform: f.platform, sha256: sha(f.body), size: f.body.length })),
    }),
  );
}

const msi = Buffer.from('pretend MSI');
const linux = fakeAgent('v1');

/** Runs the CLI as a person would, logged in as the admin. */
async function outpost(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnNode(outpostBin, [
    '--server',
    c.apiUrl,
    '--token',
    c.admin.token!,
    '--ca-fingerprint',
    c.fingerprint!,
    ...args,
  ]);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

interface Created {
  token: { id: string; siteId: string; maxUses: number };
  server: string;
  certificate: { fingerprint: string; spkiSha256: string };
  installers: { platform: string; file: string; sha256: string; shell?: string; powershell?: string }[];
}
let created: Created;
let shellLine = '';

/** Runs a POSIX line with sh in a clean environment (asynchronously: the collector answers from this process). */
async function runLine(line: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const p = spawnProcess('/bin/sh', ['-c', line], { PATH: '/usr/bin:/bin', HOME: dir.path, LANG: 'C.UTF-8' });
  const status = await p.exited;
  return { status, stdout: p.stdout(), stderr: p.stderr() };
}

beforeAll(async () => {
  mkdirSync(packages);
  mkdirSync(agentHome);
  publish([
    { file: 'outpost-agent-linux-x64', platform: 'linux-x64', body: linux },
    { file: 'outpost-agent-win-x64.exe', platform: 'win-x64', body: Buffer.from('pretend exe') },
    { file: 'outpost-agent-win-x64.msi', platform: 'win-x64', body: msi },
    { file: 'outpost-agent_0.1.0_amd64.deb', platform: 'linux-x64', body: Buffer.from('pretend deb') },
  ]);
  c = await startTestCollector({ installers: { dir: packages, downloadsPerMinute: 1000 } });
  const r = await outpost(['--json', 'installers', 'create', '--site', c.siteId, '--expires-in', '7d', '--no-sudo']);
  expect(r.code, r.err).toBe(0);
  created = JSON.parse(r.out) as Created;
  shellLine = created.installers.find((i) => i.platform === 'linux-x64')?.shell ?? '';
}, 60_000);

afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe('outpost installers create', () => {
  it('creates a token for the site and one line per platform, the executable for Linux and the MSI for Windows', () => {
    expect(created.token).toMatchObject({ siteId: c.siteId, maxUses: 100 });
    expect(created.certificate.fingerprint).toBe(c.fingerprint);
    expect(created.installers.map((i) => [i.platform, i.file])).toEqual([
      ['linux-x64', 'outpost-agent-linux-x64'],
      ['win-x64', 'outpost-agent-win-x64.msi'],
    ]);
    expect(shellLine).toContain(`--pinnedpubkey 'sha256//${created.certificate.spkiSha256}'`);
    expect(shellLine).toContain(`'${sha(linux)}  outpost-agent' | sha256sum -c -`);
    expect(shellLine).toMatch(
      /\.\/outpost-agent install --server '[^']+' --token '[^']+' --ca-fingerprint '[0-9A-F:]+' --silent\)$/,
    );
  });

  it('the shell line downloads through the pinned key, checks the hash, installs, and the token enrolls the agent', async () => {
    const r = await runLine(shellLine);
    expect(r.status, r.stderr).toBe(0);
    const args = readFileSync(argsLog, 'utf8').trim().split('\n');
    expect(args[0]).toBe('install');
    expect(args).toContain('--silent');
    expect(args[args.indexOf('--ca-fingerprint') + 1]).toBe(c.fingerprint);
    expect(args[args.indexOf('--server') + 1]).toBe(created.server);
    const config = JSON.parse(readFileSync(join(agentHome, 'agent.json'), 'utf8')) as { agentId: string };
    const agent = await apiCall<{ id: string; siteId: string }>(c.admin, 'GET', `/api/v1/agents/${config.agentId}`);
    expect(agent).toMatchObject({ id: config.agentId, siteId: c.siteId });
  });

  it('refuses, before running anything, a file that is not the one the line was printed for', async () => {
    const republished = fakeAgent('v2, published after the line was printed');
    publish([{ file: 'outpost-agent-linux-x64', platform: 'linux-x64', body: republished }]);
    writeFileSync(argsLog, 'untouched');
    const r = await runLine(shellLine);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/FAILED/);
    expect(readFileSync(argsLog, 'utf8')).toBe('untouched');

    // A file changed on the collector's disk behind its manifest is not even served.
    publish([{ file: 'outpost-agent-linux-x64', platform: 'linux-x64', body: linux }]);
    const evil = Buffer.from(linux.toString().replace('# v1', '# v6'));
    writeFileSync(join(packages, 'outpost-agent-linux-x64'), evil);
    const t = await runLine(shellLine);
    expect(t.status).not.toBe(0);
    expect(t.stderr).toMatch(/500/);
    expect(readFileSync(argsLog, 'utf8')).toBe('untouched');
    writeFileSync(join(packages, 'outpost-agent-linux-x64'), linux);
  });

  it('refuses a collector presenting another key', async () => {
    const other = createHash('sha256').update('another key').digest('base64');
    const r = await runLine(shellLine.replace(created.certificate.spkiSha256, other));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/pinned|public key/i);
    expect(readFileSync(argsLog, 'utf8')).toBe('untouched');
  });

  it('prints a PowerShell line that pins the certificate, compares Get-FileHash and runs msiexec silently', () => {
    const ps = created.installers.find((i) => i.platform === 'win-x64')!.powershell!;
    expect(ps).toContain(`$fp='${c.fingerprint}'`);
    expect(ps).toContain('ServerCertificateValidationCallback={param($s,$c,$ch,$e)');
    expect(ps).toContain('SHA256]::Create().ComputeHash($c.GetRawCertData())');
    expect(ps).toContain(`/install/outpost-agent-win-x64.msi'`);
    expect(ps).toContain(`(Get-FileHash -Algorithm SHA256 $f).Hash -ne '${sha(msi).toUpperCase()}'`);
    expect(ps).toMatch(
      /msiexec\.exe -Wait -PassThru -ArgumentList @\('\/i',.*'\/qn','SERVER="[^"]+"','TOKEN="[^"]+"','CA_FINGERPRINT="[0-9A-F:]+"'\)/,
    );
    expect(ps.endsWith('exit $p.ExitCode')).toBe(true);
    // Installs only after the hash comparison.
    expect(ps.indexOf('Get-FileHash')).toBeLessThan(ps.indexOf('msiexec'));
  });

  it('prints the lines as text for one platform, and refuses a platform the collector does not serve', async () => {
    const text = await outpost(['installers', 'create', '--site', c.siteId, '--platform', 'linux-x64']);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(
      /^# linux-x64 \(shell, as a user who may sudo\):\n\(set -eu; .* sudo \.\/outpost-agent install /m,
    );
    expect(text.out).not.toMatch(/PowerShell/);
    const none = await outpost(['installers', 'create', '--site', c.siteId, '--platform', 'darwin-x64']);
    expect(none.code).not.toBe(0);
    expect(none.err).toMatch(/OUTPOST_E_INSTALLER_UNAVAILABLE.*darwin-x64/);
    const bad = await outpost(['installers', 'create', '--site', c.siteId, '--platform', '../etc']);
    expect(bad.code).not.toBe(0);
    expect(existsSync(join(dir.path, 'etc'))).toBe(false);
  });
});
