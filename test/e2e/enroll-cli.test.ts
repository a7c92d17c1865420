/**
 * `outpost-agent enroll` and `status` as a person runs them (issue 17, the first hour): sentences rather than JSON
 * log lines, nothing left behind by a failure, and each refusal with the error and hint that fit it. Real
 * processes against a real collector with its generated self-signed certificate.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentBin,
  outpostBin,
  spawnNode,
  startTestCollector,
  type TestCollector,
  tempDir,
} from '../support/collector.js';

// As a person runs it: no log level or agent paths chosen by the environment (spawnNode passes this one on).
for (const name of ['OUTPOST_LOG_LEVEL', 'OUTPOST_AGENT_CONFIG', 'OUTPOST_AGENT_STATE']) delete process.env[name];

let c: TestCollector;
const dir = tempDir('enroll-cli');
beforeAll(async () => {
  c = await startTestCollector();
});
afterAll(async () => {
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** Runs `outpost-agent --config <dir>/agent.json <args>` without any log setting in the environment. */
async function agent(home: string, args: string[], env: Record<string, string> = {}) {
  const p = spawnNode(agentBin, ['--config', join(home, 'agent.json'), ...args], env);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

const enrollArgs = (token: string, fingerprint = c.fingerprint!) => [
  'enroll',
  '--server',
  c.apiUrl,
  '--token',
  token,
  '--ca-fingerprint',
  fingerprint,
];

/** Every file under `root`, relative, sorted (empty when it does not exist). */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[]).sort();
}

describe('outpost-agent enroll', () => {
  it('prints sentences on stdout and no JSON log line; with --log-level the log goes to stderr', async () => {
    const home = join(dir.path, 'quiet');
    const r = await agent(home, enrollArgs((await c.enrollmentToken()).token));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^enrolled as ag_\w+ \(client cl_\w+, site si_\w+\)\nconfiguration: .*agent\.json\n$/);
    expect(r.err).toBe('');
    // The state lives beside --config, not in the per-user default.
    expect(existsSync(join(home, 'state', 'agent.key'))).toBe(true);

    const loud = join(dir.path, 'loud');
    const l = await agent(loud, ['--log-level', 'info', ...enrollArgs((await c.enrollmentToken()).token)]);
    expect(l.code, l.err).toBe(0);
    expect(l.out).not.toContain('{');
    expect(JSON.parse(l.err.trim().split('\n').at(-1)!)).toMatchObject({ msg: 'enrolled' });
  });

  it('a refused enrollment leaves no key, no state folder and no configuration behind', async () => {
    const home = join(dir.path, 'refused');
    // Well formed, but no such token: the collector refuses it.
    const r = await agent(home, enrollArgs(`oet_000000000000_${'A'.repeat(43)}`));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error OUTPOST_E_ENROLL_TOKEN_INVALID: /);
    expect(filesUnder(home)).toEqual([]);
    expect(r.err).not.toContain('{"level"');
  });

  it('a forced re-enrollment that fails keeps the old key and configuration', async () => {
    const home = join(dir.path, 'forced');
    expect((await agent(home, enrollArgs((await c.enrollmentToken()).token))).code).toBe(0);
    const key = readFileSync(join(home, 'state', 'agent.key'), 'utf8');
    const config = readFileSync(join(home, 'agent.json'), 'utf8');
    const r = await agent(home, [...enrollArgs(`oet_000000000000_${'A'.repeat(43)}`), '--force']);
    expect(r.code).toBe(1);
    expect(readFileSync(join(home, 'state', 'agent.key'), 'utf8')).toBe(key);
    expect(readFileSync(join(home, 'agent.json'), 'utf8')).toBe(config);
    expect(filesUnder(join(home, 'state'))).toEqual(['agent.key']);
  });

  it('re-enrolling without --force is refused with a hint about --force, not "reload the resource"', async () => {
    const home = join(dir.path, 'again');
    expect((await agent(home, enrollArgs((await c.enrollmentToken()).token))).code).toBe(0);
    const r = await agent(home, enrollArgs((await c.enrollmentToken()).token));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error OUTPOST_E_ALREADY_ENROLLED: This machine is already enrolled as ag_\w+/);
    expect(r.err).toMatch(/^hint: Pass --force/m);
  });

  it('a malformed token is named as a token error, not a protocol mismatch, and nothing is written', async () => {
    for (const token of ['abc', `oet_${'x'.repeat(300)}`, 'opt_000000000000_AAAA', 'paste the token here']) {
      const home = join(dir.path, `malformed-${token.length}`);
      const r = await agent(home, enrollArgs(token));
      expect(r.code, token).toBe(1);
      expect(r.err, token).toMatch(/^error OUTPOST_E_ENROLL_TOKEN_INVALID: --token is not an enrollment token/);
      expect(r.err).toContain('outpost tokens create');
      expect(filesUnder(home)).toEqual([]);
    }
  });

  it('a self-signed collector without --ca-fingerprint says to pass it, not "agents retry by themselves"', async () => {
    const home = join(dir.path, 'unpinned');
    const args = enrollArgs((await c.enrollmentToken()).token).slice(0, -2);
    const r = await agent(home, args);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error OUTPOST_E_TLS_UNTRUSTED: /);
    expect(r.err).toMatch(/^hint: Pass --ca-fingerprint .*`outpost serve`/m);
    expect(filesUnder(home)).toEqual([]);

    // The technicians' CLI says the same.
    const cli = spawnNode(outpostBin, ['--server', c.apiUrl, 'login', '--email', 'a@b.c', '--password', 'x'], {
      OUTPOST_CLI_CONFIG: join(dir.path, 'cli.json'),
    });
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(/^error OUTPOST_E_TLS_UNTRUSTED: [\s\S]*hint: Pass --ca-fingerprint/);
  });
});

describe('outpost-agent status', () => {
  it('says where it looked for the configuration and how to point elsewhere', async () => {
    const home = join(dir.path, 'nowhere');
    const r = await agent(home, ['status']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`No agent configuration at ${join(home, 'agent.json')} (--config)`);
    expect(r.err).toMatch(/--config FILE or OUTPOST_AGENT_CONFIG/);
    const byDefault = spawnNode(agentBin, ['status'], { HOME: home });
    expect(await byDefault.exited).toBe(1);
    expect(byDefault.stderr()).toMatch(/No agent configuration at \S+agent\.json \(the default for (root|this user)\)/);
  });

  it('finds an agent enrolled with --config when given the same --config', async () => {
    const home = join(dir.path, 'found');
    const e = await agent(home, enrollArgs((await c.enrollmentToken()).token));
    expect(e.code, e.err).toBe(0);
    const r = await agent(home, ['status']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^agent {5}ag_\w+/);
  });
});
