/**
 * Bad input to the two CLIs, as a user types it: each case exits non-zero with a message that names the problem
 * (a coded error or the offending flag) and never a JavaScript stack trace; a refused configuration writes nothing.
 * No collector is needed: every case is refused before or at the first connection (closed loopback port).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentBin, outpostBin, spawnNode, tempDir } from '../support/collector.js';
import { freePort } from '../support/process-collector.js';

const dir = tempDir('cli-bad-input');
afterAll(() => dir[Symbol.dispose]());

const env = {
  OUTPOST_CLI_CONFIG: join(dir.path, 'cli.json'),
  OUTPOST_AGENT_CONFIG: join(dir.path, 'agent.json'),
  OUTPOST_AGENT_STATE: join(dir.path, 'agent-state'),
  OUTPOST_SERVER: '',
  OUTPOST_TOKEN: '',
};

async function run(bin: string, args: string[], extra: Record<string, string> = {}) {
  await using p = spawnNode(bin, args, { ...env, ...extra });
  const code = await p.exited;
  return { code, out: p.stdout() + p.stderr() };
}

const STACK = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)$/m;

describe('the outpost and outpost-agent CLIs refuse bad input clearly', () => {
  it('every case: non-zero exit, a message naming the problem, no stack trace', async () => {
    const closed = await freePort();
    const agentJson = join(dir.path, 'agent-bad.json');
    const cases: [string, string[], Record<string, string>, RegExp][] = [
      [outpostBin, ['nosuchcmd'], {}, /unknown command 'nosuchcmd'/],
      [outpostBin, ['agents', 'list', '--bogus'], {}, /unknown option '--bogus'/],
      [outpostBin, ['audit', '--limit', 'abc'], {}, /--limit.*'abc' is invalid/],
      [outpostBin, ['inventory', 'history', 'ag_x', '--since', 'x'], {}, /--since.*'x' is invalid/],
      [outpostBin, ['inventory', 'query', 'patches', '--older-than', '-3'], {}, /--older-than.*'-3' is invalid/],
      [outpostBin, ['sessions', 'play', 'ss_x', '--speed', '0'], {}, /--speed.*'0' is invalid/],
      [outpostBin, ['agents', 'list'], {}, /OUTPOST_E_UNAUTHENTICATED/],
      [
        outpostBin,
        ['detect', 'replay', '--input', join(dir.path, 'none.csv'), '--out', join(dir.path, 'o.csv')],
        {},
        /OUTPOST_E_REPLAY_INPUT/,
      ],
      // A mistyped collector address, from the flag, the environment or for a socket command.
      [
        outpostBin,
        ['login', '--server', 'notaurl', '--email', 'a@b.c'],
        {},
        /OUTPOST_E_CONFIG_INVALID: The collector address "notaurl"/,
      ],
      [outpostBin, ['login', '--server', 'ftp://x', '--email', 'a@b.c'], {}, /OUTPOST_E_CONFIG_INVALID/],
      [outpostBin, ['agents', 'list'], { OUTPOST_SERVER: 'bad', OUTPOST_TOKEN: 't' }, /OUTPOST_E_CONFIG_INVALID/],
      [outpostBin, ['shell', 'ag_0123'], { OUTPOST_SERVER: 'bad', OUTPOST_TOKEN: 't' }, /OUTPOST_E_CONFIG_INVALID/],
      [
        outpostBin,
        ['login', '--server', `https://127.0.0.1:${closed}`, '--email', 'a@b.c'],
        {},
        /OUTPOST_E_UNAVAILABLE/,
      ],
      [agentBin, ['bogus'], {}, /unknown command 'bogus'/],
      [agentBin, ['enroll', '--server', 'notaurl', '--token', 'x'], {}, /OUTPOST_E_CONFIG_INVALID: --server notaurl/],
      [agentBin, ['enroll', '--server', `https://127.0.0.1:${closed}`, '--token', 'x'], {}, /OUTPOST_E_UNAVAILABLE/],
      [agentBin, ['inventory', '--probe', 'no_such'], {}, /--probe.*'no_such' is invalid. unknown probe/],
      [agentBin, ['run'], {}, /OUTPOST_E_NOT_ENROLLED/],
      [
        agentBin,
        ['run'],
        { OUTPOST_AGENT_CONFIG: agentJson },
        /OUTPOST_E_CONFIG_INVALID: .*agent-bad\.json is not valid JSON/,
      ],
    ];
    writeFileSync(agentJson, '{"agentId": 5, "server": ');
    for (const [bin, args, extra, expected] of cases) {
      const r = await run(bin, args, extra);
      const label = `${bin.endsWith('outpost.js') ? 'outpost' : 'outpost-agent'} ${args.join(' ')}`;
      expect(r.code, label).not.toBe(0);
      expect(r.out, label).toMatch(expected);
      expect(r.out, label).not.toMatch(STACK);
      expect(r.out, label).not.toMatch(/TypeError|ReferenceError|Unhandled/);
    }
  }, 60_000);

  it('serve refuses a malformed or wrongly typed configuration and writes nothing to its data directory', async () => {
    const data = join(dir.path, 'data');
    mkdirSync(data);
    const config = join(dir.path, 'collector.json');
    for (const [text, expected] of [
      ['{"port": "x", "nope": 1', /OUTPOST_E_CONFIG_INVALID: .*is not valid JSON/],
      ['{"port": "x", "nope": 1}', /OUTPOST_E_CONFIG_INVALID: .*collector\.json/],
    ] as const) {
      writeFileSync(config, text);
      const r = await run(outpostBin, ['serve', '--config', config, '--data-dir', data]);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(expected);
      expect(r.out).not.toMatch(STACK);
      expect(readdirSync(data)).toEqual([]);
    }
  });
});
