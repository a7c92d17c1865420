/** `outpost detect …`: offline tools of the detection concern (replay a policy over recorded series). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_BASELINE, parsePolicy, replayPath } from '../detection/index.js';

/** Adds `outpost detect replay`. */
export function addDetectCommands(program: Command): void {
  const detect = program.command('detect').description('Detection tools that run locally, without a collector.');
  detect
    .command('replay')
    .description(
      'Run the detection engine over a timestamp,value CSV (or a folder of them, mirrored), one record at a time, and write timestamp,value,anomaly_score,label (label 1 = the shipped defaults would open an incident).',
    )
    .requiredOption('--input <path>', 'a CSV file or a folder of CSV files')
    .requiredOption('--out <path>', 'output CSV file, or folder when --input is a folder')
    .option('--policy <file>', 'a detection policy (JSON or YAML) to validate and apply')
    .action((o: { input: string; out: string; policy?: string }) => {
      const params = { ...DEFAULT_BASELINE };
      if (o.policy) {
        const policy = parsePolicy(readFileSync(o.policy, 'utf8'), o.policy);
        if (!policy.baseline.enabled) params.alarm = Number.POSITIVE_INFINITY;
      }
      const results = replayPath(o.input, o.out, params);
      let rows = 0;
      let alarms = 0;
      for (const s of results.values()) {
        rows += s.rows;
        alarms += s.alarms;
      }
      process.stdout.write(`replayed ${results.size} file(s), ${rows} rows, ${alarms} alarm row(s) → ${o.out}\n`);
    });
}
