/**
 * `outpost cp` operands, parsed in-process by the real command tree: a remote path that is not absolute is named as
 * such (not as "two local paths"), before any file, login or connection is touched.
 */
import { Command, CommanderError } from 'commander';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { addCommands } from './commands.js';
import { parseRemote, relativeRemote } from './cp.js';

async function refusal(args: string[]): Promise<string | undefined> {
  const p = new Command('outpost')
    .option('--server <url>')
    .option('--token <token>')
    .option('--ca-fingerprint <sha256>')
    .option('--json')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  addCommands(p);
  try {
    await p.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.message;
    return `not a parse error: ${String(err)}`;
  }
  return undefined;
}

describe('outpost cp operands', () => {
  beforeAll(() => {
    vi.stubEnv('OUTPOST_CLI_CONFIG', '/nonexistent/outpost-cp-test/cli.json');
    vi.stubEnv('OUTPOST_SERVER', '');
    vi.stubEnv('OUTPOST_TOKEN', '');
  });

  it('says that a remote path must be absolute, with an example, for either direction', async () => {
    for (const args of [
      ['cp', 'ag_x:foo.txt', './'],
      ['cp', './local.txt', 'ag_x:foo.txt'],
      ['cp', 'ag_x:sub/foo.txt', '/tmp/x'],
      ['cp', 'ag_x:', '/tmp/x'],
    ]) {
      const m = await refusal(args);
      expect(m, args.join(' ')).toMatch(/remote paths must be absolute/);
      expect(m).toMatch(/e\.g\. ag_x:\/srv\/files\//);
      expect(m).not.toMatch(/two local/);
    }
  });

  it('keeps the other operand errors as they were', async () => {
    expect(await refusal(['cp', 'a', 'b'])).toMatch(/exactly one of source and destination .*two local/);
    expect(await refusal(['cp', './ag_x:foo', 'b'])).toMatch(/two local/);
    expect(await refusal(['cp', 'ag_a:/x', 'ag_b:/y'])).toMatch(/two remote/);
  });

  it('tells remote operands from relative ones and from drive letters', () => {
    expect(parseRemote('ag_x:/srv/a')).toEqual({ agent: 'ag_x', path: '/srv/a' });
    expect(relativeRemote('ag_x:foo.txt')).toEqual({ agent: 'ag_x', path: 'foo.txt' });
    expect(relativeRemote('ag_x:/srv/a')).toBeUndefined();
    expect(relativeRemote('C:foo.txt')).toBeUndefined();
    expect(relativeRemote('./ag_x:foo.txt')).toBeUndefined();
    expect(relativeRemote('foo.txt')).toBeUndefined();
  });
});
