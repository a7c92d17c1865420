/** `outpost-agent inventory [--probe NAME] [--json] [--apt-option K=V]`: runs the probes here and prints their rows. */
import { OutpostError, PROBE_NAMES } from '@outpost/shared';
import { type Command, InvalidArgumentError } from 'commander';
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
    .action(async (opts: { probe: string[]; json: boolean; aptOption: string[] }) => {
      try {
        const all = probesFor();
        const probes = opts.probe.length ? all.filter((p) => opts.probe.includes(p.probe.name)) : all;
        if (probes.length === 0) {
          throw new OutpostError('OUTPOST_E_PROBE_UNSUPPORTED', {
            message: `No such probe on ${process.platform}: ${opts.probe.join(', ')}`,
          });
        }
        const results = await runProbes(probes, systemProbeContext({ aptOptions: opts.aptOption }));
        process.stdout.write(
          opts.json ? `${JSON.stringify(inventoryJson(results), null, 2)}\n` : inventoryText(results),
        );
        if (results.some((r) => !r.ok)) process.exitCode = 2;
      } catch (err) {
        fail(err);
      }
    });
}
