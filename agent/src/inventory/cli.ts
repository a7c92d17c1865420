/** `outpost-agent inventory [--probe NAME] [--json] [--apt-option K=V] [--cache-dir D | --no-cache]`: runs the probes here and prints their rows. */
import { existsSync, mkdirSync } from 'node:fs';
import { OutpostError, PROBE_NAMES } from '@outpost/shared';
import { type Command, InvalidArgumentError } from 'commander';
import { defaultPaths } from '../config/index.js';
import { systemProbeContext } from './exec.js';
import { inventoryJson, inventoryText } from './print.js';
import { probesFor } from './registry.js';
import { runProbes } from './runner.js';

/** Adds the `inventory` command to the agent CLI. */
export function inventoryCommand(program: Command, fail: (err: unknown) => void): void {
  program
    .command('inventory')
    .description(`Run the inventory probes on this machine and print their rows (probes: ${PROBE_NAMES.join(', ')}).`)
    .option(
      '--probe <name>',
      'only this probe (repeatable)',
      (v: string, acc: string[]) => {
        if (!(PROBE_NAMES as string[]).includes(v))
          throw new InvalidArgumentError(`unknown probe; one of ${PROBE_NAMES.join(', ')}`);
        return [...acc, v];
      },
      [] as string[],
    )
    .option('--json', 'print JSON', false)
    .option(
      '--apt-option <key=value>',
      'pass `-o key=value` to apt (repeatable; e.g. Dir::State::status=…)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--cache-dir <dir>',
      "cache apt's answer here, keyed by its inputs (default: the agent's state directory when it exists)",
    )
    .option('--no-cache', 'neither read nor write the cache')
    .action(
      async (opts: { probe: string[]; json: boolean; aptOption: string[]; cacheDir?: string; cache: boolean }) => {
        try {
          const all = probesFor();
          const probes = opts.probe.length ? all.filter((p) => opts.probe.includes(p.probe.name)) : all;
          if (probes.length === 0) {
            throw new OutpostError('OUTPOST_E_PROBE_UNSUPPORTED', {
              message: `No such probe on ${process.platform}: ${opts.probe.join(', ')}`,
            });
          }
          if (opts.cache && opts.cacheDir) mkdirSync(opts.cacheDir, { recursive: true, mode: 0o700 });
          const state = defaultPaths().stateDir;
          const cacheDir = !opts.cache ? undefined : (opts.cacheDir ?? (existsSync(state) ? state : undefined));
          const results = await runProbes(probes, systemProbeContext({ aptOptions: opts.aptOption, cacheDir }));
          process.stdout.write(
            opts.json ? `${JSON.stringify(inventoryJson(results), null, 2)}\n` : inventoryText(results),
          );
          if (results.some((r) => !r.ok)) process.exitCode = 2;
        } catch (err) {
          fail(err);
        }
      },
    );
}
