/**
 * `outpost policies list|show|add|set|rm`: the detection policies of a collector (docs/0003-detection.md, "Policies
 * in the database"). They only call `/api/v1/detection/policies`; the collector validates, authorises and audits.
 */
import { readFileSync } from 'node:fs';
import { OutpostError } from '@outpost/shared';
import { type Command, InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { api } from './api.js';
import { commandTarget } from './credentials.js';
import { checkReadable, printObject, printRows, say, when } from './output.js';

type Doc = Record<string, unknown> & { thresholds?: Rule[]; checks?: { id: string }[] };
type Rule = Record<string, unknown> & { metric: string; op?: string };
const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;
const collect = (v: string, all: string[]) => [...all, v];
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * A threshold in words: `cpu.total_pct > 90 for 5m clear 80 P2` (`for`, `clear` and the criticality optional;
 * `disk.used_pct:*` covers every volume).
 */
export function parseThreshold(v: string): Rule {
  const m =
    /^\s*(\S+?)\s*([<>])\s*(-?\d+(?:\.\d+)?)(?:\s+for\s+(\d+)([smh]))?(?:\s+clear\s+(-?\d+(?:\.\d+)?))?(?:\s+(P[1-4]))?\s*$/i.exec(
      v,
    );
  if (!m)
    throw new InvalidArgumentError(
      `"${v}": expected METRIC >|< VALUE [for 5m] [clear N] [P1-P4], e.g. "cpu.total_pct > 90 for 5m"`,
    );
  return {
    metric: m[1]!,
    op: m[2]!,
    value: Number(m[3]),
    ...(m[4] ? { forSec: Number(m[4]) * SECONDS[m[5]!.toLowerCase()]! } : {}),
    ...(m[6] ? { clear: Number(m[6]) } : {}),
    ...(m[7] ? { criticality: m[7].toUpperCase() } : {}),
  };
}

/** A check as a YAML or JSON object: `{id: web, kind: tcp, host: 10.0.0.5, port: 443}`. */
export function parseCheck(v: string): { id: string } & Record<string, unknown> {
  let c: unknown;
  try {
    c = parseYaml(v);
  } catch {
    c = undefined;
  }
  if (!c || typeof c !== 'object' || Array.isArray(c) || typeof (c as { id?: unknown }).id !== 'string')
    throw new InvalidArgumentError(
      `"${v}": expected a check as {id: NAME, kind: tcp|http|ping|dns|service|process, ...}, e.g. "{id: web, kind: tcp, host: 10.0.0.5, port: 443}"`,
    );
  return c as { id: string } & Record<string, unknown>;
}

/** The policy document in a local file (JSON or YAML, one policy). */
function readDoc(file: string): Doc {
  checkReadable(file);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_POLICY_INVALID', {
      cause,
      message: `${file}: not valid JSON or YAML: ${(cause as Error).message}`,
      details: { source: file },
    });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new InvalidArgumentError(`${file}: expected one policy (an object), as docs/0003-detection.md describes`);
  return doc as Doc;
}

interface EditOptions {
  file?: string;
  threshold: string[];
  check: string[];
  dropThreshold?: string[];
  dropCheck?: string[];
  defaults?: string | boolean;
}

/** Applies the flags to a document: a threshold or check of the same metric and direction (id) is replaced. */
function edit(doc: Doc, o: EditOptions): Doc {
  const out: Doc = { ...doc };
  let rules = [...(out.thresholds ?? [])];
  for (const d of o.dropThreshold ?? []) {
    const m = /^(.*?)\s*([<>])?$/.exec(d.trim())!;
    const before = rules.length;
    rules = rules.filter((r) => !(r.metric === m[1] && (!m[2] || (r.op ?? '>') === m[2])));
    if (rules.length === before) throw new InvalidArgumentError(`--drop-threshold ${d}: the policy has no such rule`);
  }
  for (const t of o.threshold.map(parseThreshold)) {
    rules = rules.filter((r) => !(r.metric === t.metric && (r.op ?? '>') === t.op));
    rules.push(t);
  }
  if (rules.length || out.thresholds) out.thresholds = rules;
  let checks = [...(out.checks ?? [])];
  for (const id of o.dropCheck ?? []) {
    if (!checks.some((c) => c.id === id))
      throw new InvalidArgumentError(`--drop-check ${id}: the policy has no such check`);
    checks = checks.filter((c) => c.id !== id);
  }
  for (const c of o.check.map(parseCheck)) checks = [...checks.filter((x) => x.id !== c.id), c];
  if (checks.length || out.checks) out.checks = checks;
  if (o.defaults !== undefined) out.defaults = o.defaults === true || o.defaults === 'on';
  return out;
}

const ruleText = (r: Record<string, unknown>) =>
  `${String(r.metric)} ${String(r.op ?? '>')} ${String(r.value)} for ${String(r.forSec ?? 300)}s${r.clear !== undefined ? ` clear ${String(r.clear)}` : ''} ${String(r.criticality ?? 'P3')}`;

/** Adds `outpost policies …`. */
export function addPolicyCommands(program: Command): void {
  const policies = program
    .command('policies')
    .description(
      'Detection policies: list, show, add, change and remove (admins). The policy file, when configured, is listed read-only; a stored policy overrides the file for its scope.',
    );
  addPolicyViewCommands(policies);
  addPolicyEditCommands(policies);
}

/** `policies list|show`. */
function addPolicyViewCommands(policies: Command): void {
  policies
    .command('list')
    .description('Every policy you may see: the shipped default, the policy file, and the stored ones.')
    .action(async function (this: Command) {
      const r = await api(commandTarget(this), 'GET /api/v1/detection/policies');
      printRows(
        r.policies,
        [
          { key: 'id', title: 'id' },
          { key: 'source', title: 'source' },
          { key: 'scope', title: 'scope' },
          { key: 'inForce', title: 'in force', format: (e) => (e.inForce ? 'yes' : 'no (overridden)') },
          { key: 'rules', title: 'rules', format: (e) => e.rules.length },
          { key: 'policy', title: 'checks', format: (e) => e.policy.checks.length },
          { key: 'updatedAt', title: 'updated', format: (e) => when(e.updatedAt) },
          { key: 'updatedBy', title: 'by' },
        ],
        isJson(this),
      );
    });

  policies
    .command('show <id>')
    .description('One policy: its scope, the threshold rules it runs (shipped ones included) and its checks.')
    .action(async function (this: Command, id: string) {
      const e = await api(commandTarget(this), 'GET /api/v1/detection/policies/:id', { params: { id } });
      if (isJson(this)) return printObject(e, true);
      printObject(
        {
          id: e.id,
          source: e.source,
          scope: e.scope,
          'in force': e.inForce ? 'yes' : 'no (a stored policy overrides it)',
          baseline: e.policy.baseline.enabled ? `on (${e.policy.baseline.criticality})` : 'off',
          'shipped rules': e.policy.defaults ? 'on' : 'off',
          updated: e.updatedAt === null ? '-' : `${when(e.updatedAt)} by ${e.updatedBy}`,
        },
        false,
      );
      say`\nrules\n`;
      for (const r of e.rules) say`  ${ruleText(r)}\n`;
      say`\nchecks${e.policy.checks.length ? '' : ' (none)'}\n`;
      for (const c of e.policy.checks) say`  ${JSON.stringify(c)}\n`;
    });
}

/** The flags `policies add` and `policies set` share: a starting file, threshold rules and checks. */
const editing = (cmd: Command) =>
  cmd
    .option('--file <policy>', 'a policy document (JSON or YAML, one policy) to start from')
    .option(
      '--threshold <rule>',
      'a threshold rule, "METRIC >|< VALUE [for 5m] [clear N] [P1-P4]" (repeatable; replaces one on the same metric and direction)',
      collect,
      [],
    )
    .option(
      '--check <check>',
      'a check as YAML/JSON, "{id: web, kind: tcp, host: 10.0.0.5, port: 443}" (repeatable; replaces one with the same id)',
      collect,
      [],
    );

/** `policies add|set|rm` (admins): each change is in force at once. */
function addPolicyEditCommands(policies: Command): void {
  editing(
    policies
      .command('add')
      .description('Add a policy for the whole collector, a client or a site (one per scope).')
      .option('--client <id>', 'the client it applies to')
      .option('--site <id>', 'the site it applies to (more specific than the client)')
      .option('--no-defaults', 'turn the shipped rules off in this scope'),
  ).action(async function (this: Command, o: EditOptions & { client?: string; site?: string; defaults: boolean }) {
    const base: Doc = o.file ? readDoc(o.file) : {};
    if (o.client) base.clientId = o.client;
    if (o.site) base.siteId = o.site;
    const doc = edit(base, { ...o, defaults: o.defaults === false ? false : undefined } as EditOptions);
    const e = await api(commandTarget(this), 'POST /api/v1/detection/policies', { body: doc });
    if (isJson(this)) return printObject(e, true);
    say`added ${e.id} for ${e.scope}: ${e.rules.length} rule(s), ${e.policy.checks.length} check(s), in force now\n`;
  });

  editing(
    policies
      .command('set <id>')
      .description('Change a stored policy: start from it (or from --file), apply the flags, save. In force at once.')
      .option(
        '--drop-threshold <metric>',
        'remove the rule on METRIC (optionally "METRIC >" or "METRIC <")',
        collect,
        [],
      )
      .option('--drop-check <id>', 'remove the check with this id', collect, [])
      .option('--defaults <on|off>', 'turn the shipped rules on or off in this scope'),
  ).action(async function (this: Command, id: string, o: EditOptions) {
    if (o.defaults !== undefined && o.defaults !== 'on' && o.defaults !== 'off')
      throw new InvalidArgumentError('--defaults: expected on or off');
    const t = commandTarget(this);
    const current = await api(t, 'GET /api/v1/detection/policies/:id', { params: { id } });
    const base: Doc = o.file ? readDoc(o.file) : current.policy;
    const e = await api(t, 'PUT /api/v1/detection/policies/:id', { params: { id }, body: edit(base, o) });
    if (isJson(this)) return printObject(e, true);
    say`changed ${e.id} (${e.scope}): ${e.rules.length} rule(s), ${e.policy.checks.length} check(s), in force now\n`;
  });

  policies
    .command('rm <id>')
    .description('Remove a stored policy: its scope falls back to the policy file, or to the next wider scope.')
    .action(async function (this: Command, id: string) {
      const r = await api(commandTarget(this), 'DELETE /api/v1/detection/policies/:id', { params: { id } });
      if (isJson(this)) return printObject(r, true);
      say`removed ${r.removed} (${r.scope})\n`;
    });
}
