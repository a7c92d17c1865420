/** What `outpost-agent inventory` does once its flags are parsed (inventory/cli.ts): run the probes, print rows. */
import { existsSync, mkdirSync } from 'node:fs';
import { OutpostError, printCliError } from '@outpost/shared';
import { defaultPaths } from '../config/paths.js';
import { systemProbeContext } from './exec.js';
import { inventoryJson, inventoryText } from './print.js';
import { probesFor } from './registry.js';
import { runProbes } from './runner.js';

/** The inventory flags, as inventory/cli.ts parsed them. */
export interface InventoryFlags {
  probe: string[];
  json: boolean;
  aptOption: string[];
  cacheDir?: string;
  cache: boolean;
}

/** Runs the chosen probes here and prints their rows; exit code 2 when a probe failed, 1 on an error. */
export async function inventoryRun(opts: InventoryFlags): Promise<void> {
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
    process.stdout.write(opts.json ? `${JSON.stringify(inventoryJson(results), null, 2)}\n` : inventoryText(results));
    if (results.some((r) => !r.ok)) process.exitCode = 2;
  } catch (err) {
    printCliError(err);
  }
}
