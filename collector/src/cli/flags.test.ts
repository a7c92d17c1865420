/**
 * Every numeric flag of `outpost`, given what a person could not have meant, is refused while parsing, naming the
 * flag, before any file, login or connection is touched. Parsed in-process by the real command tree (a process per
 * case would cost a Node start-up each; test/security/cli-bad-input.test.ts runs a few as real processes).
 */
import { Command, CommanderError } from 'commander';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { addCommands } from './commands.js';

function program(): Command {
  const p = new Command('outpost')
    .option('--server <url>')
    .option('--token <token>')
    .option('--ca-fingerprint <sha256>')
    .option('--json')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  addCommands(p);
  return p;
}

/** The parse error for `args`, or undefined when they parse (and the action would run). */
async function refusal(args: string[]): Promise<string | undefined> {
  try {
    // OUTPOST_CLI_CONFIG points nowhere: an action that did run would stop at "not logged in", which is no refusal.
    await program().parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.message;
  }
  return undefined;
}

const ABSURD = ['NaN', 'Infinity', '-Infinity', '1e999', '-1', '99999999999999999999', 'abc', ''];

describe('numeric flags of outpost', () => {
  beforeAll(() => {
    vi.stubEnv('OUTPOST_CLI_CONFIG', '/nonexistent/outpost-flags-test/cli.json');
    vi.stubEnv('OUTPOST_SERVER', '');
    vi.stubEnv('OUTPOST_TOKEN', '');
  });
  const flags: [args: string[], flag: string, extra: string[]][] = [
    [['inventory', 'query', 'antivirus'], '--within', ['1e300', '36501']],
    [['inventory', 'query', 'eol'], '--within', ['1e300']],
    [['inventory', 'query', 'patches'], '--older-than', ['1e300']],
    [['inventory', 'query', 'age'], '--older-than', ['101']],
    [['inventory', 'history', 'ag_x'], '--since', ['1e300']],
    [['inventory', 'history', 'ag_x'], '--limit', ['0', '1.5', '2000000']],
    [['report', 'perimeter', '--site', 's', '--out', 'x.html'], '--obsolete-years', ['1e300']],
    [['sessions', 'play', 'ss_x'], '--speed', ['0', '1e300']],
    [['audit'], '--limit', ['0', '2.5']],
    [['agents', 'list'], '--limit', ['0']],
    [['tokens', 'create', '--site', 's'], '--max-uses', ['0', '1e30']],
    [['tokens', 'create', '--site', 's'], '--expires-in', ['0m', '366d', '99999999999999999999d', '7']],
    [['incidents', 'list'], '--limit', ['0', '2.5']],
    [['incidents', 'list'], '--tier', ['0', '4', '2.5']],
    [['incidents', 'open', '--client', 'c', '--site', 's', '--title', 't', '--type', 'x'], '--impact', ['4']],
    [
      ['incidents', 'open', '--client', 'c', '--site', 's', '--title', 't', '--type', 'x'],
      '--failure-time',
      ['99999999999999999999', 'yesterday'],
    ],
    [['channels', 'outbox'], '--limit', ['0', '1.5']],
    [['channels', 'add', '--kind', 'email'], '--port', ['0', '70000']],
    [['channels', 'routes', 'add', '--channel', 'x'], '--tiers', ['4', '1,NaN']],
    [['contracts', 'oncall', '--client', 'c'], '--tier', ['0', '2.5', '4']],
    [['contracts', 'oncall', '--client', 'c', '--tier', '1'], '--at', ['99999999999999999999']],
    [['contracts', 'rotations', 'create'], '--tier', ['2.5']],
    [['contracts', 'rotations', 'create'], '--shift-hours', ['0', '1e300']],
  ];
  for (const [args, flag, extra] of flags) {
    it(`${args.slice(0, 3).join(' ')} ${flag}`, async () => {
      const bad = ['--tiers', '--expires-in', '--failure-time', '--at'].includes(flag) ? extra : [...ABSURD, ...extra];
      for (const value of bad) {
        const message = await refusal([...args, flag, value]);
        expect(message, `${flag} ${value}`).toMatch(
          new RegExp(`${flag}.*'${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' is invalid`),
        );
      }
    });
  }

  it('sensible values parse (the refusals above are about the values)', async () => {
    // Each stops after parsing, at the login: the flags themselves were accepted.
    for (const args of [
      ['inventory', 'query', 'antivirus', '--within', '30'],
      ['inventory', 'history', 'ag_x', '--since', '0.5', '--limit', '10'],
      ['sessions', 'play', 'ss_x', '--speed', '2.5'],
      ['tokens', 'create', '--site', 's', '--max-uses', '3', '--expires-in', '365d'],
      ['incidents', 'list', '--limit', '1000', '--tier', '3'],
      ['contracts', 'oncall', '--client', 'c', '--tier', '2', '--at', '2026-01-13T17:30:00Z'],
      ['contracts', 'rotations', 'create', '--tier', '1', '--shift-hours', '12'],
    ]) {
      const p = program();
      const err = await p.parseAsync(args, { from: 'user' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, args.join(' ')).not.toBeInstanceOf(CommanderError);
      expect(String((err as Error | undefined)?.message), args.join(' ')).toMatch(/Not logged in/);
    }
  });
});
