/** `outpost-agent inventory [--probe NAME] [--json] [--apt-option K=V] [--cache-dir D | --no-cache]`: runs the probes here and prints their rows. */
import { PROBE_NAME_LIST as PROBE_NAMES } from '@outpost/shared/inventory/probe-names';
import { type Command, InvalidArgumentError } from 'commander';
import { loadCommands } from '../commands/load.js';
import type { InventoryFlags } from './command.js';

/** Adds the `inventory` command to the agent CLI. */
export function inventoryCommand(program: Command): void {
  program
    .command('inventory')
    .description(`Run the inventory probes on this machine and print their rows (probes: ${PROBE_NAMES.join(', ')}).`)
    .option(
      '--probe <name>',
      'only this probe (repeatable)',
      (v: string, acc: string[]) => {
        if (!(PROBE_NAMES as readonly string[]).includes(v))
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
    // The probes load with the command, not with the CLI (docs/0009-packaging.md, "Footprint").
    .action(async (opts: InventoryFlags) => (await loadCommands()).inventoryRun(opts));
}
