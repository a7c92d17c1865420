/**
 * Detection policies (docs/0003-detection.md): JSON or YAML, validated with errors that name the field. A policy
 * applies to a client, a site or the whole collector; the most specific one wins per key. With no policy at all the
 * adaptive baseline still watches every metric and absence still watches every agent.
 */
import { CheckSpec, OutpostError } from '@outpost/shared';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { inWeeklyWindow } from '../time/windows.js';

const Criticality = Type.Union([Type.Literal('P1'), Type.Literal('P2'), Type.Literal('P3'), Type.Literal('P4')]);

/**
 * "Above 90 % for 5 min": fires after `forSec` of breach, clears after `clearSec` below the clear level. `metric` is a
 * series name, or a prefix ending with `*` for every instance (`disk.used_pct:*`: every volume, one incident each).
 */
export const ThresholdRule = Type.Object(
  {
    metric: Type.String({ minLength: 1, maxLength: 200 }),
    op: Type.Union([Type.Literal('>'), Type.Literal('<')], { default: '>' }),
    value: Type.Number(),
    /** Hysteresis: the level that counts as clear again (default: `value`). */
    clear: Type.Optional(Type.Number()),
    forSec: Type.Number({ minimum: 0, default: 300 }),
    clearSec: Type.Number({ minimum: 0, default: 120 }),
    criticality: Type.Optional(Criticality),
  },
  { additionalProperties: false },
);
export type ThresholdRule = Static<typeof ThresholdRule>;

/** A recurring maintenance window: on these weekdays (0 = Sunday), from `start` for `minutes`, in the site's zone. */
export const MaintenanceWindow = Type.Object(
  {
    days: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7 }),
    start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
    minutes: Type.Integer({ minimum: 1, maximum: 10_080 }),
  },
  { additionalProperties: false },
);
export type MaintenanceWindow = Static<typeof MaintenanceWindow>;

/** One policy document. */
export const PolicySchema = Type.Object(
  {
    /** Where it applies: omit both for the collector-wide default. */
    clientId: Type.Optional(Type.String({ minLength: 1 })),
    siteId: Type.Optional(Type.String({ minLength: 1 })),
    baseline: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** Metrics the baseline must ignore (exact names or prefixes ending with `*`). */
        ignore: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        criticality: Criticality,
      },
      { additionalProperties: false, default: {} },
    ),
    thresholds: Type.Array(ThresholdRule, { default: [] }),
    /**
     * The shipped rules (`SHIPPED_THRESHOLDS`: CPU saturated, memory exhausted, a volume almost full) apply on top of
     * `thresholds`; one of `thresholds` on the same metric and direction replaces the shipped one. `false`: none.
     */
    defaults: Type.Boolean({ default: true }),
    absence: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** Silent for this many heartbeat intervals before an incident. */
        graceIntervals: Type.Integer({ minimum: 2, maximum: 1000, default: 4 }),
      },
      { additionalProperties: false, default: {} },
    ),
    forecast: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** Open when a `disk.used_pct` series is projected to reach 100 within this many hours. */
        horizonHours: Type.Number({ exclusiveMinimum: 0, maximum: 24 * 90, default: 24 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Fleet correlation: this many machines of one site with the same fault within `windowSec` make one incident. */
    correlation: Type.Object(
      {
        minAgents: Type.Integer({ minimum: 2, default: 3 }),
        windowSec: Type.Integer({ minimum: 1, default: 300 }),
      },
      { additionalProperties: false, default: {} },
    ),
    maintenance: Type.Array(MaintenanceWindow, { default: [] }),
    /** Checks every machine in scope runs (pushed to the agents; results open `check` incidents). */
    checks: Type.Array(CheckSpec, { default: [], maxItems: 500 }),
    /** Agents designated as probes for equipment without an agent (printers, switches): extra checks for them only. */
    probes: Type.Array(
      Type.Object(
        { agentId: Type.String({ minLength: 1, maxLength: 64 }), checks: Type.Array(CheckSpec, { maxItems: 500 }) },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    /** Inventory rules: fed by each inventory report and an hourly sweep. */
    inventory: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** A licence (AV, OS activation) expiring within this many days opens an incident. */
        licenceDays: Type.Integer({ minimum: 0, maximum: 3650, default: 30 }),
        /** A security update pending longer than this many days opens an incident. */
        patchDays: Type.Integer({ minimum: 0, maximum: 3650, default: 14 }),
        /** An OS past its end of life opens an incident. */
        endOfLife: Type.Boolean({ default: true }),
        /** Software names (exact, or prefixes ending with `*`, case-insensitive) that must not be installed. */
        forbiddenSoftware: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { default: [], maxItems: 1000 }),
        /** A disk gone or memory shrunk stays an incident until the hardware is back or this many days pass. */
        hardwareWindowDays: Type.Integer({ minimum: 1, maximum: 365, default: 7 }),
        /** A service set to start automatically that failed (or, on Windows, is stopped) opens an incident. */
        servicesDown: Type.Boolean({ default: true }),
        /** Services the previous rule ignores (exact names, or prefixes ending with `*`, case-insensitive). */
        ignoreServices: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { default: [], maxItems: 1000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Consecutive failing results before a check opens an incident (one passing result clears it). */
    checksFailAfter: Type.Integer({ minimum: 1, maximum: 100, default: 2 }),
  },
  { additionalProperties: false },
);
export type Policy = Static<typeof PolicySchema>;

// The baseline's criticality default sits here (TypeBox needs a literal default inside the union).
(PolicySchema.properties.baseline.properties.criticality as { default?: string }).default = 'P3';

const check = TypeCompiler.Compile(PolicySchema);

/**
 * One validation problem in words. For a union of `kind`s (a check), "expected union value" says nothing: name the
 * kinds, or the first problem against the variant the entry's `kind` picks.
 */
function explainError(e: ValueError): string {
  const at = e.path || '/';
  const variants = (e.schema as { anyOf?: TSchema[] }).anyOf;
  if (!variants) return `${at}: ${e.message}`;
  const kinds = variants
    .map((v) => (v as { properties?: { kind?: { const?: string } } }).properties?.kind?.const)
    .filter((k): k is string => typeof k === 'string');
  if (!kinds.length) return `${at}: ${e.message}`;
  const kind = (e.value as { kind?: unknown } | null)?.kind;
  const variant = variants.find(
    (v) => (v as { properties?: { kind?: { const?: string } } }).properties?.kind?.const === kind,
  );
  if (!variant) return `${at}/kind: must be one of ${kinds.join(', ')}`;
  const first = Value.Errors(variant, Value.Default(variant, Value.Clone(e.value))).First();
  return first ? `${at}${first.path}: ${first.message}` : `${at}: ${e.message}`;
}

/** Parses and validates a policy from JSON or YAML text; errors name the source and every wrong field. */
export function parsePolicy(text: string, source = 'policy'): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML is a superset of JSON
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_POLICY_INVALID', {
      cause,
      message: `${source}: not valid JSON or YAML: ${(cause as Error).message}`,
    });
  }
  return validatePolicy(raw, source);
}

/** Validates a parsed policy document (defaults filled in); errors name the source and every wrong field. */
export function validatePolicy(raw: unknown, source = 'policy'): Policy {
  // A policy is at most a few levels deep; cloning and checking a document nested thousands deep would overflow the
  // stack (found by the API fuzzer), so the depth is measured first, without recursion.
  if (deeperThan(raw, MAX_POLICY_DEPTH))
    throw new OutpostError('OUTPOST_E_POLICY_INVALID', {
      message: `${source}: nested more than ${MAX_POLICY_DEPTH} levels deep; a policy is a few levels deep`,
      details: { source, problems: [`/: nested more than ${MAX_POLICY_DEPTH} levels`] },
    });
  const value = Value.Default(PolicySchema, Value.Clone(raw ?? {}));
  const problems: string[] = [];
  if (!check.Check(value)) problems.push(...[...check.Errors(value)].slice(0, 5).map(explainError));
  else
    value.thresholds.forEach((r, i) => {
      // A program's name is matched whole: `proc.cpu_pct:*` would watch a program called "*".
      if (r.metric.startsWith(PROC_CPU_PREFIX) && r.metric.endsWith('*'))
        problems.push(`/thresholds/${i}/metric: a program's CPU is watched by its exact name, not a prefix`);
    });
  if (problems.length || !check.Check(value)) {
    throw new OutpostError('OUTPOST_E_POLICY_INVALID', {
      message: `${source}: ${problems.join('; ')}`,
      details: { source, problems },
    });
  }
  return value;
}

/** Deepest nesting a policy document may have (the deepest real field, a probe's check, is 5 levels down). */
const MAX_POLICY_DEPTH = 16;

/** True when objects and arrays nest deeper than `max` in `value` (iterative: safe on any depth). */
function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= max) return true;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
}

/** Prefix of the per-program CPU metrics derived from the top list. */
export const PROC_CPU_PREFIX = 'proc.cpu_pct:';

/**
 * The rules that catch the obvious from the first minute, before any baseline has learnt a machine (150 samples:
 * 75–150 min at the agent's 30–60 s interval). Thresholds, so they run through the same engine as a policy's own.
 */
export const SHIPPED_THRESHOLDS: readonly ThresholdRule[] = Object.freeze([
  { metric: 'cpu.total_pct', op: '>', value: 95, clear: 85, forSec: 300, clearSec: 120, criticality: 'P2' },
  { metric: 'mem.used_pct', op: '>', value: 95, clear: 90, forSec: 300, clearSec: 120, criticality: 'P2' },
  { metric: 'disk.used_pct:*', op: '>', value: 95, clear: 93, forSec: 60, clearSec: 300, criticality: 'P2' },
]);

const effective = new WeakMap<Policy, ThresholdRule[]>();

/**
 * The threshold rules a policy runs: its own, plus the shipped ones (unless `defaults` is off) that none of its own
 * replaces (same metric, same direction).
 */
export function thresholdsOf(p: Policy): ThresholdRule[] {
  let rules = effective.get(p);
  if (!rules) {
    const own = new Set(p.thresholds.map((r) => `${r.metric}\u0000${r.op}`));
    const shipped = p.defaults ? SHIPPED_THRESHOLDS.filter((r) => !own.has(`${r.metric}\u0000${r.op}`)) : [];
    rules = [...p.thresholds, ...shipped];
    effective.set(p, rules);
  }
  return rules;
}

/** True when a threshold rule's metric (a name, or a prefix ending with `*`) covers this series. */
export function ruleCovers(rule: ThresholdRule, metric: string): boolean {
  return rule.metric.endsWith('*') ? metric.startsWith(rule.metric.slice(0, -1)) : rule.metric === metric;
}

/** The shipped default policy. */
export function defaultPolicy(): Policy {
  return parsePolicy('{}', 'default');
}

/** The policies of a collector, most specific first: site, then client, then the collector default. */
export class PolicySet {
  readonly #bySite = new Map<string, Policy>();
  readonly #byClient = new Map<string, Policy>();
  #global: Policy = defaultPolicy();

  constructor(policies: readonly Policy[] = []) {
    for (const p of policies) this.add(p);
  }

  /** Adds or replaces the policy for its scope. */
  add(p: Policy): void {
    if (p.siteId) this.#bySite.set(p.siteId, p);
    else if (p.clientId) this.#byClient.set(p.clientId, p);
    else this.#global = p;
  }

  /** Replaces every policy at once (a reload); scopes absent from `policies` fall back to the defaults. */
  replaceAll(policies: readonly Policy[]): void {
    this.#bySite.clear();
    this.#byClient.clear();
    this.#global = defaultPolicy();
    for (const p of policies) this.add(p);
  }

  /** Every policy in force, the collector default first. */
  list(): Policy[] {
    return [this.#global, ...this.#byClient.values(), ...this.#bySite.values()];
  }

  /** The policy that governs a machine of this client and site. */
  for(clientId: string, siteId: string): Policy {
    return this.#bySite.get(siteId) ?? this.#byClient.get(clientId) ?? this.#global;
  }
}

/** The checks one agent runs under a policy: the scope's checks plus those it probes for (same id: the probe's). */
export function checksFor(p: Policy, agentId: string): CheckSpec[] {
  const byId = new Map<string, CheckSpec>();
  for (const c of p.checks) byId.set(c.id, c);
  for (const probe of p.probes) if (probe.agentId === agentId) for (const c of probe.checks) byId.set(c.id, c);
  return [...byId.values()].slice(0, 500);
}

/**
 * True when `at` falls in one of the windows on the wall clock of `tz` (the machine's site zone; UTC when unknown),
 * the rule SLA calendars and job windows follow too.
 */
export function inMaintenance(windows: readonly MaintenanceWindow[], at: number, tz = 'UTC'): boolean {
  return windows.some((w) => inWeeklyWindow(w, tz, at));
}

/** True when a baseline must skip this metric under the policy. */
export function baselineIgnores(p: Policy, metric: string): boolean {
  for (const pat of p.baseline.ignore) {
    if (pat.endsWith('*') ? metric.startsWith(pat.slice(0, -1)) : metric === pat) return true;
  }
  return false;
}
