/**
 * `outpost detect …`: replay a policy over recorded series (local, no collector), and show or reload the policies a
 * collector has in force.
 */
import type { Command } from 'commander';
// The detection modules themselves, not the concern's index: that one also exports the stores, and with them SQLite,
// which a technician's command must not load (collector/src/cli/bundle.test.ts).
import { DEFAULT_BASELINE } from '../detection/baseline-params.js';
import { defaultPolicy } from '../detection/policy.js';
import { readPolicyFile } from '../detection/policy-file.js';
import { replayPath } from '../detection/replay.js';
import { api, type RouteAnswer } from './api.js';
import { loadTarget } from './credentials.js';
import { checkReadable, printJson, say } from './output.js';

function printActive(r: RouteAnswer<'GET /api/v1/detection/policy'>, json: boolean): void {
  if (json) {
    printJson(r);
    return;
  }
  say`policy file  ${r.file ?? '(none: shipped defaults)'}\nloaded       ${new Date(r.loadedAt).toISOString()}\n`;
  if (r.lastError)
    say`last reload  REFUSED ${new Date(r.lastError.at).toISOString()} ${r.lastError.code}: ${r.lastError.message}\n`;
  for (const p of r.policies) {
    const scope = p.siteId ? `site ${p.siteId}` : p.clientId ? `client ${p.clientId}` : 'default';
    say`\n== ${scope}\n`;
    printJson(p);
  }
}

/** Adds `outpost detect replay|policy`. */
export function addDetectCommands(program: Command): void {
  const detect = program
    .command('detect')
    .description('Detection: replay a policy over recorded series; show or reload the policies in force.');
  detect
    .command('policy')
    .description("The collector's detection policies in force (defaults filled in), and the last refused reload.")
    .option('--reload', 're-read the policy file first (a bad file keeps the policies in force)')
    .action(async function (this: Command, o: { reload?: boolean }) {
      const g = this.optsWithGlobals<{ server?: string; token?: string; caFingerprint?: string; json?: boolean }>();
      const target = loadTarget({ server: g.server, token: g.token, caFingerprint: g.caFingerprint });
      const r = o.reload
        ? await api(target, 'POST /api/v1/detection/policy/reload')
        : await api(target, 'GET /api/v1/detection/policy');
      printActive(r, g.json === true);
    });
  detect
    .command('replay')
    .description(
      'Run the detection engine over a timestamp,value CSV (or a folder of them, mirrored), one record at a time, and write timestamp,value,anomaly_score,label (label 1 = the shipped defaults would open an incident).',
    )
    .requiredOption('--input <path>', 'a CSV file or a folder of CSV files')
    .requiredOption('--out <path>', 'output CSV file, or folder when --input is a folder')
    .option(
      '--policy <file>',
      'a policy file as the collector reads it (JSON or YAML: one policy, a list, or { policies: [...] }); every entry is validated and the default-scope one (no clientId/siteId) applied',
    )
    .action((o: { input: string; out: string; policy?: string }) => {
      let labels = true;
      if (o.policy) {
        checkReadable(o.policy);
        // The same file `detection.policyFile` takes; a replayed series has no client or site, so the default scope
        // (or the shipped default when the file has none) is the policy that applies to it.
        const policy = readPolicyFile(o.policy).find((p) => !p.clientId && !p.siteId) ?? defaultPolicy();
        // With the baseline off that policy opens no incident from it: scores are still written, no row is labelled.
        labels = policy.baseline.enabled;
      }
      const results = replayPath(o.input, o.out, DEFAULT_BASELINE, { labels });
      let rows = 0;
      let alarms = 0;
      for (const s of results.values()) {
        rows += s.rows;
        alarms += s.alarms;
      }
      say`replayed ${results.size} file(s), ${rows} rows, ${alarms} alarm row(s) → ${o.out}\n`;
    });
}
