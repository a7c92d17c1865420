/**
 * Turns the validator's errors for one request part into one sentence a person can act on. Ajv reports a union of
 * literals as one "must be equal to constant" per literal plus "must match a schema in anyOf"; this says
 * "must be one of: a, b, c" once. A union of objects told apart by a literal field (`kind`) is reported through the
 * branch the value chose, or as that field's allowed values when it chose none. Used by `errors.ts` for every route.
 */

/** The part of an Ajv error object this reads (fastify hands them over as `error.validation`). */
export interface ValidationIssue {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string | undefined;
}

/** What the formatter says about one request part: the field, the sentence, the allowed values when known. */
export interface ValidationMessage {
  field: string;
  text: string;
  allowed?: unknown[];
}

type Schema = Record<string, unknown>;

/**
 * One message for the errors of one validated part. `context` is fastify's (`body`, `querystring`, `params`,
 * `headers`); `schema` is the route's schema for that part and `data` the value checked, both optional (without
 * them a union of objects is reported through the first branch that got furthest).
 */
export function validationMessage(
  issues: readonly ValidationIssue[],
  context: string,
  schema?: unknown,
  data?: unknown,
): ValidationMessage {
  const top = issues.at(-1);
  if (!top) return { field: context, text: `${context} is invalid` };
  return describe(issues, top, context, schema, data);
}

function describe(
  issues: readonly ValidationIssue[],
  top: ValidationIssue,
  context: string,
  schema: unknown,
  data: unknown,
): ValidationMessage {
  const field = `${context}${top.instancePath}`;
  switch (top.keyword) {
    case 'anyOf':
    case 'oneOf':
      return describeUnion(issues, top, context, schema, data);
    case 'const':
      return { field, text: `${field} must be ${show(top.params.allowedValue)}`, allowed: [top.params.allowedValue] };
    case 'enum': {
      const allowed = (top.params.allowedValues as unknown[] | undefined) ?? [];
      return { field, text: `${field} must be one of: ${allowed.map(show).join(', ')}`, allowed };
    }
    case 'minLength':
    case 'minItems':
    case 'minProperties':
      if (top.params.limit === 1) return { field, text: `${field} must not be empty` };
      break;
    case 'required': {
      const name = String(top.params.missingProperty ?? '');
      return { field: `${field}/${name}`, text: `${field}/${name} is required` };
    }
    case 'additionalProperties': {
      // The caller chose this name: shown only when it is a plain word, so no control character is echoed.
      const raw = String(top.params.additionalProperty ?? '');
      const name = /^[\w.-]{1,64}$/.test(raw) ? raw : '…';
      return { field: `${field}/${name}`, text: `${field}/${name} is not a known field` };
    }
  }
  return { field, text: `${field} ${top.message ?? 'is invalid'}` };
}

/** What one branch of a union refused, said as a kind of value when it refused the value itself. */
type BranchRefusal =
  | { kind: 'values'; values: unknown[] }
  | { kind: 'type'; types: string[] }
  | { kind: 'deeper'; issues: ValidationIssue[]; top: ValidationIssue };

function describeUnion(
  issues: readonly ValidationIssue[],
  top: ValidationIssue,
  context: string,
  schema: unknown,
  data: unknown,
): ValidationMessage {
  const field = `${context}${top.instancePath}`;
  const prefix = `${top.schemaPath}/`;
  const byBranch = new Map<string, ValidationIssue[]>();
  for (const issue of issues) {
    if (!issue.schemaPath.startsWith(prefix)) continue;
    const branch = issue.schemaPath.slice(prefix.length).split('/')[0] ?? '';
    byBranch.set(branch, [...(byBranch.get(branch) ?? []), issue]);
  }
  const refusals: BranchRefusal[] = [...byBranch.values()].map((own) => {
    const last = own.at(-1) as ValidationIssue;
    if (last.instancePath === top.instancePath) {
      if (last.keyword === 'const') return { kind: 'values', values: [last.params.allowedValue] };
      if (last.keyword === 'enum') return { kind: 'values', values: (last.params.allowedValues as unknown[]) ?? [] };
      if (last.keyword === 'type') return { kind: 'type', types: String(last.params.type ?? '').split(',') };
    }
    return { kind: 'deeper', issues: own, top: last };
  });

  // A union of objects told apart by a literal field: report the branch the value chose, or the field's values.
  const union = resolvePointer(schema, top.schemaPath);
  const value = resolveInstance(data, top.instancePath);
  if (Array.isArray(union)) {
    const discriminated = chooseBranch(union as unknown[], value);
    if (discriminated?.chosen === undefined && discriminated) {
      const at = `${field}/${discriminated.property}`;
      return {
        field: at,
        text: `${at} must be one of: ${discriminated.values.map(show).join(', ')}`,
        allowed: discriminated.values,
      };
    }
    if (discriminated?.chosen !== undefined) {
      const own = byBranch.get(String(discriminated.chosen));
      const last = own?.at(-1);
      if (own && last) return describe(own, last, context, schema, data);
    }
  }

  if (refusals.every((r) => r.kind !== 'deeper')) {
    const values = refusals.flatMap((r) => (r.kind === 'values' ? r.values : []));
    const types = [...new Set(refusals.flatMap((r) => (r.kind === 'type' ? r.types : [])))];
    const text =
      values.length === 0
        ? `must be ${types.join(' or ')}`
        : `must be one of: ${values.map(show).join(', ')}${types.length ? `, or ${types.join(' or ')}` : ''}`;
    return { field, text: `${field} ${text}`, ...(types.length === 0 ? { allowed: values } : {}) };
  }
  // Without the schema: the branch that got furthest into the value says the most.
  const deeper = refusals.filter((r): r is Extract<BranchRefusal, { kind: 'deeper' }> => r.kind === 'deeper');
  const furthest = deeper.reduce((a, b) => (b.top.instancePath.length > a.top.instancePath.length ? b : a));
  return describe(furthest.issues, furthest.top, context, schema, data);
}

/**
 * The branch a value chose in a union of objects that all declare one property as a literal (`kind`), or, when the
 * value's property matches none, that property and every allowed value. Undefined when the union has no such field.
 */
function chooseBranch(
  branches: unknown[],
  value: unknown,
): { property: string; values: unknown[]; chosen?: number } | undefined {
  const objects = branches.map((b) => (isSchema(b) && isSchema(b.properties) ? b.properties : undefined));
  if (objects.length < 2 || objects.some((p) => p === undefined)) return undefined;
  const first = objects[0] as Schema;
  for (const property of Object.keys(first)) {
    const perBranch = objects.map((p) => literals((p as Schema)[property]));
    if (perBranch.some((v) => v === undefined)) continue;
    const values = perBranch.flatMap((v) => v as unknown[]);
    const actual = isSchema(value) ? value[property] : undefined;
    const chosen = perBranch.findIndex((v) => (v as unknown[]).includes(actual));
    return chosen >= 0 ? { property, values, chosen } : { property, values };
  }
  return undefined;
}

/** The literal values a property schema allows (const, enum, or a union of those), or undefined. */
function literals(schema: unknown): unknown[] | undefined {
  if (!isSchema(schema)) return undefined;
  if ('const' in schema) return [schema.const];
  if (Array.isArray(schema.enum)) return schema.enum as unknown[];
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) {
    const all = union.map(literals);
    return all.every((v) => v !== undefined) ? all.flatMap((v) => v as unknown[]) : undefined;
  }
  return undefined;
}

/** Follows an Ajv schema path (`#/properties/kind/anyOf`) into the schema; undefined when it leads nowhere. */
function resolvePointer(schema: unknown, pointer: string): unknown {
  if (!pointer.startsWith('#')) return undefined;
  let at: unknown = schema;
  for (const raw of pointer.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (Array.isArray(at)) at = at[Number(key)];
    else if (isSchema(at)) at = at[key];
    else return undefined;
  }
  return at;
}

/** Follows an Ajv instance path (`/events/1`) into the checked value. */
function resolveInstance(data: unknown, pointer: string): unknown {
  let at: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) at = at[Number(key)];
    else if (isSchema(at)) at = Object.hasOwn(at, key) ? at[key] : undefined;
    else return undefined;
  }
  return at;
}

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A literal as written in a message: strings bare, anything else as JSON. */
function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
