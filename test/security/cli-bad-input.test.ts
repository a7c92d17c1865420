/**
 * Bad input to the two CLIs, as a user types it: each case exits non-zero with a message that names the problem
 * (a coded error or the offending flag) and never a JavaScript stack trace; a refused configuration or replay writes
 * nothing. No collector is needed: every case is refused before or at the first connection (closed loopback port);
 * the cases that need one are in cli-bad-input-live.test.ts. Cases run a few at a time: each is a Node start-up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

type Case = [bin: string, args: string[], env: Record<string, string>, expected: RegExp];

/** Runs the cases `batch` at a time and checks each: non-zero exit, the expected message, no stack, no crash. */
async function expectRefused(cases: Case[], batch = 6): Promise<void> {
  for (let i = 0; i < cases.length; i += batch) {
    const slice = cases.slice(i, i + batch);
    const results = await Promise.all(slice.map(([bin, args, extra]) => run(bin, args, extra)));
    slice.forEach(([bin, args, , expected], j) => {
      const r = results[j]!;
      const label = `${bin.endsWith('outpost.js') ? 'outpost' : 'outpost-agent'} ${args.join(' ')}`;
      expect(r.code, label).not.toBe(0);
      expect(r.out, label).toMatch(expected);
      expect(r.out, label).not.toMatch(STACK);
      expect(r.out, label).not.toMatch(/TypeError|ReferenceError|Unhandled|unexpected failure/);
    });
  }
}

describe('the outpost and outpost-agent CLIs refuse bad input clearly', () => {
  it('every case: non-zero exit, a message naming the problem, no stack trace', async () => {
    const closed = await freePort();
    const agentJson = join(dir.path, 'agent-bad.json');
    const cases: Case[] = [
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
      [
        agentBin,
        ['enroll', '--server', `https://127.0.0.1:${closed}`, '--token', `oet_000000000000_${'A'.repeat(43)}`],
        {},
        /OUTPOST_E_UNAVAILABLE/,
      ],
      // A token that is not one is named before anything is dialed.
      [
        agentBin,
        ['enroll', '--server', `https://127.0.0.1:${closed}`, '--token', 'x'],
        {},
        /OUTPOST_E_ENROLL_TOKEN_INVALID/,
      ],
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
    await expectRefused(cases);
  }, 60_000);

  it('numeric flags refuse NaN, Infinity, 1e999 and absurd sizes, naming the flag (the full sweep: cli/flags.test.ts)', async () => {
    const flag = (name: string, value: string) => new RegExp(`${name}.*'${value}' is invalid`);
    const o = (args: string[], name: string, value: string): Case => [outpostBin, args, {}, flag(name, value)];
    await expectRefused(
      [
        // Finite but absurd: was sent to the collector as an instant past the end of time and answered with rows.
        o(['inventory', 'query', 'eol', '--within', '1e300'], '--within', '1e300'),
        // parseInt read 1e999 as a limit of 1 and tier 2.5 as tier 2, and the command went ahead.
        o(['incidents', 'list', '--limit', '1e999'], '--limit', '1e999'),
        o(['contracts', 'oncall', '--client', 'c', '--tier', '2.5'], '--tier', '2.5'),
        o(['sessions', 'play', 'ss_x', '--speed', 'Infinity'], '--speed', 'Infinity'),
        o(['serve', '--port', '1e999'], '--port', '1e999'),
        o(['serve', '--agents-port', '-1'], '--agents-port', '-1'),
        [agentBin, ['run', '--test-events', '99999999999999999999'], {}, flag('--test-events', '99999999999999999999')],
        [agentBin, ['run', '--test-interval', 'NaN'], {}, flag('--test-interval', 'NaN')],
      ],
      8,
    );
  }, 60_000);

  it('local files: cp, report --out and detect --policy name the path before any login or connection', async () => {
    const file = join(dir.path, 'regular-file');
    writeFileSync(file, 'x');
    const under = join(file, 'out.html');
    const cases: Case[] = [
      // Was "Not logged in" (the login was checked first): the operands are the mistake.
      [outpostBin, ['cp', 'a', 'b'], {}, /exactly one of source and destination .*two local/],
      [outpostBin, ['cp', 'ag_a:/x', 'ag_b:/y'], {}, /exactly one of source and destination .*two remote/],
      // Was a stack trace from fs.stat.
      [
        outpostBin,
        ['cp', join(dir.path, 'missing'), 'ag_abc:/tmp/x'],
        {},
        /OUTPOST_E_LOCAL_FILE: .*missing: no such file/,
      ],
      [outpostBin, ['cp', dir.path, 'ag_abc:/tmp/x'], {}, /OUTPOST_E_LOCAL_FILE: .*not a regular file/],
      [outpostBin, ['cp', 'ag_abc:/tmp/x', under], {}, /OUTPOST_E_LOCAL_FILE: .*regular-file is not a folder/],
      [outpostBin, ['cp', 'ag_abc:/tmp/x', dir.path], {}, /OUTPOST_E_LOCAL_FILE: .*is a folder/],
      [outpostBin, ['report', 'perimeter', '--site', 's', '--out', under], {}, /OUTPOST_E_LOCAL_FILE: .*out\.html/],
      [
        outpostBin,
        [
          'report',
          'quality',
          '--client',
          'c',
          '--from',
          '2026-01-01',
          '--to',
          '2026-02-01',
          '--out',
          '/nonexistent-dir/q.html',
        ],
        {},
        /OUTPOST_E_LOCAL_FILE: .*folder \/nonexistent-dir does not exist/,
      ],
      [
        outpostBin,
        [
          'detect',
          'replay',
          '--input',
          file,
          '--out',
          join(dir.path, 'p.csv'),
          '--policy',
          join(dir.path, 'nope.yaml'),
        ],
        {},
        /OUTPOST_E_LOCAL_FILE: .*nope\.yaml: no such file/,
      ],
    ];
    await expectRefused(cases);
    expect(existsSync(join(dir.path, 'p.csv'))).toBe(false);
  }, 60_000);

  it('a hand-broken login file or an empty OUTPOST_SERVER is named, not taken for "not logged in"', async () => {
    const closed = await freePort();
    const saved = join(dir.path, 'cli-saved.json');
    writeFileSync(saved, JSON.stringify({ server: `https://127.0.0.1:${closed}`, token: 't' }));
    const nul = join(dir.path, 'cli-null.json');
    writeFileSync(nul, 'null');
    const typed = join(dir.path, 'cli-typed.json');
    writeFileSync(typed, '{"server": 5, "token": "t"}');
    await expectRefused([
      // `export OUTPOST_SERVER=` (empty) used to hide the saved login: "Not logged in".
      [outpostBin, ['agents', 'list'], { OUTPOST_CLI_CONFIG: saved, OUTPOST_SERVER: '' }, /OUTPOST_E_UNAVAILABLE/],
      [
        outpostBin,
        ['agents', 'list'],
        { OUTPOST_CLI_CONFIG: nul },
        /OUTPOST_E_CONFIG_INVALID: .*cli-null\.json: expected an object/,
      ],
      [
        outpostBin,
        ['whoami'],
        { OUTPOST_CLI_CONFIG: typed },
        /OUTPOST_E_CONFIG_INVALID: .*cli-typed\.json: \/server must be a string/,
      ],
    ]);
  }, 30_000);

  it('detect replay refuses a malformed CSV naming the file and line, and leaves no output behind', async () => {
    const series = (n: number) =>
      Array.from({ length: n }, (_, i) => `2026-01-01 00:${String(i).padStart(2, '0')}:00,${i % 7}`);
    const good = ['timestamp,value', ...series(20)].join('\n');
    const bad: [string, string | Buffer, RegExp][] = [
      ['noheader.csv', series(5).join('\n'), /noheader\.csv line 1: the header must name "timestamp" and "value"/],
      [
        'text.csv',
        ['timestamp,value', ...series(3), '2026-01-01 01:00:00,abc'].join('\n'),
        /text\.csv line 5: value "abc" is not a finite number/,
      ],
      ['empty.csv', '', /empty\.csv line 1: the file is empty/],
      [
        'badtime.csv',
        ['timestamp,value', ...series(2), 'yesterday,3'].join('\r\n'),
        /badtime\.csv line 4: timestamp "yesterday" is not a time/,
      ],
      [
        'missing.csv',
        ['timestamp,value', ...series(2), '2026-01-01 02:00:00'].join('\n'),
        /missing\.csv line 4: value "" is not a finite number/,
      ],
      [
        'binary.csv',
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]),
        /binary\.csv line 1: binary data/,
      ],
    ];
    const cases: Case[] = [];
    const outs: string[] = [];
    for (const [name, content, expected] of bad) {
      // Each bad file sits in a folder beside a good one that sorts first: the good one must not be written either.
      const input = join(dir.path, `replay-${name}`);
      mkdirSync(join(input, 'sub'), { recursive: true });
      writeFileSync(join(input, 'a-good.csv'), good);
      writeFileSync(join(input, 'sub', name), content);
      const out = join(dir.path, `replay-out-${name}`);
      outs.push(out);
      cases.push([
        outpostBin,
        ['detect', 'replay', '--input', input, '--out', out],
        {},
        new RegExp(`OUTPOST_E_REPLAY_INPUT: .*${expected.source}`),
      ]);
    }
    // A good folder to an output under a regular file, and a good file onto an existing folder.
    const goodDir = join(dir.path, 'replay-good');
    mkdirSync(goodDir);
    writeFileSync(join(goodDir, 'crlf.csv'), `\uFEFF${good.replaceAll('\n', '\r\n')}\r\n`);
    writeFileSync(join(goodDir, 'plain.csv'), good);
    const file = join(dir.path, 'replay-regular-file');
    writeFileSync(file, 'x');
    cases.push([
      outpostBin,
      ['detect', 'replay', '--input', goodDir, '--out', join(file, 'out')],
      {},
      /OUTPOST_E_LOCAL_FILE: cannot write .*part of its path is a file/,
    ]);
    cases.push([
      outpostBin,
      ['detect', 'replay', '--input', join(goodDir, 'plain.csv'), '--out', goodDir],
      {},
      /OUTPOST_E_LOCAL_FILE: --out .* is a folder, but --input is a file/,
    ]);
    cases.push([
      outpostBin,
      ['detect', 'replay', '--input', join(dir.path, 'data-none'), '--out', join(dir.path, 'x')],
      {},
      /OUTPOST_E_REPLAY_INPUT/,
    ]);
    await expectRefused(cases);
    for (const out of outs) expect(existsSync(out), out).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('x');
    expect(readdirSync(goodDir).sort()).toEqual(['crlf.csv', 'plain.csv']);

    // The same good folder replays (CRLF and a byte-order mark included): the refusals above are about the input.
    const out = join(dir.path, 'replay-good-out');
    const r = await run(outpostBin, ['detect', 'replay', '--input', goodDir, '--out', out]);
    expect(r.out).toMatch(/replayed 2 file\(s\), 40 rows/);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'crlf.csv'), 'utf8')).toBe(readFileSync(join(out, 'plain.csv'), 'utf8'));
  }, 60_000);

  it('serve refuses a malformed or wrongly typed configuration and writes nothing to its data directory', async () => {
    const data = join(dir.path, 'data');
    mkdirSync(data);
    const cases: [string, string, RegExp][] = [
      ['collector.json', '{"port": "x", "nope": 1', /OUTPOST_E_CONFIG_INVALID: .*is not valid JSON/],
      ['collector.json', '{"port": "x", "nope": 1}', /OUTPOST_E_CONFIG_INVALID: .*collector\.json/],
      ['c-port.yaml', 'api:\n  port: 70000\n', /OUTPOST_E_CONFIG_INVALID: .*c-port\.yaml: \/api\/port .*65535/],
      [
        'c-type.yaml',
        'api:\n  port: "8443"\n',
        /OUTPOST_E_CONFIG_INVALID: .*c-type\.yaml: \/api\/port Expected integer/,
      ],
      [
        'c-key.yaml',
        'api:\n  port: 8443\n  bogus: yes\n',
        /OUTPOST_E_CONFIG_INVALID: .*c-key\.yaml: \/api\/bogus Unexpected property/,
      ],
      ['c-top.json', '{"listen": 8443}', /OUTPOST_E_CONFIG_INVALID: .*c-top\.json: \/listen Unexpected property/],
      // Was "Expected union value".
      [
        'c-level.json',
        '{"log": {"level": "loud"}}',
        /OUTPOST_E_CONFIG_INVALID: .*c-level\.json: \/log\/level must be one of fatal, error/,
      ],
      ['c-list.yaml', '- 1\n- 2\n', /OUTPOST_E_CONFIG_INVALID: .*c-list\.yaml must hold an object/],
    ];
    const files = cases.map(([name, text], i) => {
      const sub = join(dir.path, `cfg-${i}`);
      mkdirSync(sub);
      writeFileSync(join(sub, name), text);
      return join(sub, name);
    });
    const results = await Promise.all(
      files.map((config) => run(outpostBin, ['serve', '--config', config, '--data-dir', data])),
    );
    results.forEach((r, i) => {
      expect(r.code, files[i]).not.toBe(0);
      expect(r.out, files[i]).toMatch(cases[i]![2]);
      expect(r.out, files[i]).not.toMatch(STACK);
    });
    expect(readdirSync(data)).toEqual([]);
  }, 60_000);

  it('serve names a data directory it cannot use and a port it cannot bind, without a stack trace', async () => {
    const file = join(dir.path, 'serve-regular-file');
    writeFileSync(file, 'x');
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      await expectRefused([
        // Was ENOTDIR with a stack trace from the certificate generator.
        [
          outpostBin,
          ['serve', '--data-dir', join(file, 'data'), '--port', '0'],
          {},
          /OUTPOST_E_CONFIG_INVALID: The data directory .*serve-regular-file\/data \(dataDir \/ --data-dir\) cannot be used/,
        ],
        // Was EADDRINUSE with a stack trace.
        [
          outpostBin,
          [
            'serve',
            '--data-dir',
            join(dir.path, 'data-busy'),
            '--host',
            '127.0.0.1',
            '--port',
            String(port),
            '--log-level',
            'warn',
          ],
          {},
          new RegExp(
            `OUTPOST_E_CONFIG_INVALID: Cannot listen on 127\\.0\\.0\\.1:${port} \\(api\\.host/api\\.port\\): .*EADDRINUSE`,
          ),
        ],
      ]);
    } finally {
      busy.close();
    }
    expect(readFileSync(file, 'utf8')).toBe('x');
    // A start that cannot listen leaves nothing behind: no database, no generated certificate.
    expect(existsSync(join(dir.path, 'data-busy'))).toBe(false);
  }, 60_000);

  it('outpost-agent run and status refuse an agent.json with wrong types, missing keys or a server that is no URL', async () => {
    const good = {
      agentId: `ag_${'0123456789abcdef'.repeat(2).slice(0, 24)}`,
      server: 'https://127.0.0.1:1',
      clientId: 'cl_1',
      siteId: 'si_1',
      stateDir: join(dir.path, 'agent-json-state'),
    };
    const configs: [string, unknown, RegExp][] = [
      ['id-number', { ...good, agentId: 5 }, /\/agentId Expected string/],
      ['server-text', { ...good, server: 'notaurl' }, /\/server Expected string to match/],
      // Passed the schema's prefix check; `status` printed it, `run` would have failed on it at connect time.
      ['server-empty-host', { ...good, server: 'https://' }, /\/server "https:\/\/" is not a URL/],
      ['server-space', { ...good, server: 'https://exa mple:8443' }, /\/server "https:\/\/exa mple:8443" is not a URL/],
      [
        'fingerprint',
        { ...good, caFingerprint: 'zz' },
        /\/caFingerprint a SHA-256 fingerprint has 64 hexadecimal digits/,
      ],
      ['missing', { agentId: good.agentId }, /\/server Expected required property/],
      [
        'level',
        { ...good, logLevel: 'loud' },
        /\/logLevel must be one of fatal, error, warn, info, debug, trace, silent/,
      ],
      ['array', [], /\/ Expected object/],
    ];
    const cases: Case[] = [];
    for (const [name, config, expected] of configs) {
      const file = join(dir.path, `agent-${name}.json`);
      writeFileSync(file, JSON.stringify(config));
      const re = new RegExp(`OUTPOST_E_CONFIG_INVALID: .*agent-${name}\\.json: ${expected.source}`);
      cases.push([agentBin, ['run'], { OUTPOST_AGENT_CONFIG: file }, re]);
      cases.push([agentBin, ['status'], { OUTPOST_AGENT_CONFIG: file }, re]);
    }
    await expectRefused(cases);
    expect(existsSync(good.stateDir)).toBe(false);
  }, 60_000);
});

describe('a reader that stops early', () => {
  it('`… | head` ends the CLI quietly with status 0, not with an EPIPE stack trace', async () => {
    // The agent's inventory of the installed packages is far larger than a pipe's buffer; `head` reads 10 bytes.
    const r = spawnSync(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        `"${process.execPath}" "${agentBin}" inventory --json --probe installed_software | head -c 10`,
      ],
      { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.stdout).toHaveLength(10);
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|at .*:\d+:\d+/);
    expect(r.status).toBe(0);
  }, 40_000);
});
