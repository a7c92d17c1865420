/**
 * The detection policies concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';

/**
 * A policy document with every default filled in. The fields named are the ones readers (the CLI) print from; the
 * rest of the document passes through as it is (`additionalProperties: true` keeps it in the answer).
 */
const PolicyDocument = Type.Object(
  {
    defaults: Type.Boolean(),
    baseline: Type.Object({ enabled: Type.Boolean(), criticality: Type.String() }, { additionalProperties: true }),
    checks: Type.Array(Type.Object({ id: Type.String() }, { additionalProperties: true })),
  },
  { additionalProperties: true },
);

/** A detection policy as the API shows it: where it comes from, its scope and document. */
export const PolicyView = Type.Object({
  id: Type.String(),
  source: Type.Union([Type.Literal('default'), Type.Literal('file'), Type.Literal('api')]),
  scope: Type.String(),
  clientId: Type.Union([Type.String(), Type.Null()]),
  siteId: Type.Union([Type.String(), Type.Null()]),
  inForce: Type.Boolean(),
  policy: PolicyDocument,
  rules: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  createdAt: Type.Union([Type.Integer(), Type.Null()]),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  updatedAt: Type.Union([Type.Integer(), Type.Null()]),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
});

/** Every policy, defaults and files included. */
export const PolicyList = Type.Object({ policies: Type.Array(PolicyView) });

/** A removed policy. */
export const PolicyRemoved = Type.Object({ removed: Type.String(), scope: Type.String() });

/** The policies in force, the file they came from and the last reload's error. */
export const ActivePoliciesView = Type.Object({
  file: Type.Union([Type.String(), Type.Null()]),
  loadedAt: Type.Integer(),
  policies: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  lastError: Type.Union([
    Type.Object({ at: Type.Integer(), code: Type.String(), message: Type.String() }),
    Type.Null(),
  ]),
});
