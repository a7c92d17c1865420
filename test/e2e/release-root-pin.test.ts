/**
 * The release root pinned by its SHA-256 (docs/0011-releases.md, "Where an agent's root comes from"), end to end on a
 * real collector with TLS: keys made offline (`outpost release keys init` prints the hash), a release published
 * through the CLI, `outpost installers create` pinning the collector's root in its lines (and refusing a hash the
 * collector does not trust, before creating a token), and the real `outpost-agent install` enrolling over the pinned
 * certificate, fetching 1.root.json from the collector and trusting it because it hashes to the pin — while a pin of
 * another root leaves the machine untouched.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { releasePaths } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentBin,
  outpostBin,
  spawnNode,
  startTestCollector,
  type TestCollector,
  tempDir,
} from '../support/collector.js';

const dir = tempDir('root-pin');
const keys = join(dir.path, 'keys');
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
let c: TestCollector;
let printedSha = '';

async function run(bin: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawnNode(bin, args);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}
const online = (args: string[]) =>
  run(outpostBin, ['--server', c.apiUrl, '--token', c.admin.token!, '--ca-fingerprint', c.fingerprint!, ...args]);

/** A stand-in executable that answers `--version` (install copies and checks it; nothing runs it here). */
function fakeExecutable(): string {
  const f = join(dir.path, 'outpost-agent');
  writeFileSync(f, '#!/bin/sh\n[ "$1" = --version ] && echo 0.1.0\n');
  chmodSync(f, 0o755);
  return f;
}

beforeAll(async () => {
  // One installer to print a line for: the pin travels in the line.
  const installers = join(dir.path, 'installers');
  mkdirSync(installers);
  const body = Buffer.from('#!/bin/sh\n');
  writeFileSync(join(installers, 'outpost-agent-linux-x64'), body);
  const file = { file: 'outpost-agent-linux-x64', platform: 'linux-x64', size: body.length };
  const hash = createHash('sha256').update(body).digest('hex');
  writeFileSync(
    join(installers, 'manifest.json'),
    JSON.stringify({ agentVersion: '0.1.0', files: [{ ...file, sha256: hash }] }),
  );
  c = await startTestCollector({ installers: { dir: installers, downloadsPerMinute: 60 } });
  const init = await run(outpostBin, ['release', 'keys', 'init', '--out', keys]);
  expect(init.code, init.err).toBe(0);
  printedSha = /release root SHA-256 ([0-9a-f]{64})/.exec(init.out)?.[1] ?? '';
  const pkgs = join(dir.path, 'pkgs');
  mkdirSync(pkgs);
  writeFileSync(join(pkgs, 'outpost-agent-linux-x64'), '#!/bin/sh\necho 0.2.0\n', { mode: 0o755 });
  const sign = await run(outpostBin, ['release', 'sign', pkgs, '--keys', keys, '--release', '0.2.0']);
  expect(sign.code, sign.err).toBe(0);
}, 60_000);

afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe('the release root pinned by its hash', () => {
  it('is printed by `release keys init`, offline, and is the hash of the root file', () => {
    expect(printedSha).toBe(sha(join(releasePaths(keys).metadata, '1.root.json')));
  });

  it('is what the collector trusts once published, and what `installers create` pins (or refuses)', async () => {
    const pub = await online(['releases', 'publish', keys]);
    expect(pub.code, pub.err).toBe(0);
    const list = await online(['releases', 'list']);
    expect(list.out).toContain(`release root SHA-256 ${printedSha}`);
    const lines = await online(['--json', 'installers', 'create', '--site', c.siteId]);
    expect(lines.code, lines.err).toBe(0);
    const created = JSON.parse(lines.out) as { releaseRootSha256: string; installers: { shell?: string }[] };
    expect(created.releaseRootSha256).toBe(printedSha);
    expect(created.installers[0]?.shell).toContain(`--update-root-sha256 ${printedSha} --silent`);
    const tokensBefore = (await online(['--json', 'tokens', 'list'])).out;
    const wrong = await online(['installers', 'create', '--site', c.siteId, '--update-root-sha256', 'ab'.repeat(32)]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toContain('OUTPOST_E_INSTALL_UPDATE_ROOT');
    expect((await online(['--json', 'tokens', 'list'])).out).toBe(tokensBefore); // no token created
  });

  it("lets `outpost-agent install` trust the collector's root only when it hashes to the pin", async () => {
    const exe = fakeExecutable();
    const token = (await c.enrollmentToken()).token;
    const install = (stage: string, pin: string) =>
      run(agentBin, [
        'install',
        '--root',
        stage,
        '--executable',
        exe,
        '--server',
        c.apiUrl,
        '--token',
        token,
        '--ca-fingerprint',
        c.fingerprint!,
        '--update-root-sha256',
        pin,
        '--silent',
      ]);
    // Another root's hash: exit 1, one line, nothing enrolled or copied.
    const refused = await install(join(dir.path, 'stage-wrong'), 'cd'.repeat(32));
    expect(refused.code).toBe(1);
    expect(refused.err.trim().split('\n')).toHaveLength(1);
    expect(refused.err).toContain('OUTPOST_E_INSTALL_UPDATE_ROOT');
    expect(existsSync(join(dir.path, 'stage-wrong/etc/outpost/agent.json'))).toBe(false);
    // The printed hash: enrolled, and the root beside the configuration is the offline one, byte for byte.
    const stage = join(dir.path, 'stage');
    const ok = await install(stage, printedSha);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out + ok.err).toBe('');
    expect(readFileSync(join(stage, 'etc/outpost/update-root.json'))).toEqual(
      readFileSync(join(releasePaths(keys).metadata, '1.root.json')),
    );
    const config = JSON.parse(readFileSync(join(stage, 'etc/outpost/agent.json'), 'utf8')) as { updateRoot: string };
    expect(config.updateRoot).toBe('/etc/outpost/update-root.json');
  });
});
