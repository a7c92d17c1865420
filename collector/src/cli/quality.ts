/** `outpost report quality --client C --from D --to D`: the service-quality report for the technical committee. */
import { type Command, InvalidArgumentError } from 'commander';
import { jsonForTerminal } from '../text/index.js';
import { api, apiText } from './api.js';
import { commandTarget } from './credentials.js';
import { checkWritable, printText, reportFormat, say, writeOutputFile } from './output.js';

const date = (v: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || !Number.isFinite(Date.parse(`${v}T00:00:00Z`)))
    throw new InvalidArgumentError('expected a date such as 2026-10-01');
  return v;
};

/** Adds `report quality` (beside `report perimeter`). */
export function addQualityReportCommand(program: Command): void {
  const report =
    program.commands.find((c) => c.name() === 'report') ??
    program.command('report').description('Reports for the service manager.');
  report
    .command('quality')
    .description(
      'The service-quality report of a client for a period [from, to): incidents by type and criticality, MTTA/MTTR, SLA compliance, breaches and penalties, top recurring faults, trend against the previous period.',
    )
    .requiredOption('--client <id>', 'the client')
    .requiredOption('--from <date>', 'first day of the period (UTC), e.g. 2026-10-01', date)
    .requiredOption('--to <date>', 'day after the last day of the period (UTC), e.g. 2026-11-01', date)
    .option('--format <format>', 'html, csv or json (default: from the --out extension, else html)')
    .option('--out <file>', 'write the report to this file instead of standard output')
    .action(async function (
      this: Command,
      o: { client: string; from: string; to: string; format?: string; out?: string },
    ) {
      const format = reportFormat(o.out, o.format);
      if (o.out) checkWritable(o.out);
      const query = { clientId: o.client, from: o.from, to: o.to, format };
      const target = commandTarget(this);
      const body =
        format === 'json'
          ? `${jsonForTerminal(await api(target, 'GET /api/v1/reports/quality', { query }))}\n`
          : await apiText(target, 'GET /api/v1/reports/quality', { query });
      if (!o.out) {
        // To a terminal or a pipe: agent strings in the report are shown escaped, never sent as control sequences.
        printText(body);
        return;
      }
      writeOutputFile(o.out, body);
      say`wrote ${o.out} (${Buffer.byteLength(body)} bytes)\n`;
    });
}
