/**
 * Checks pushed by the collector to an agent (docs/0003-detection.md): the policy's list replaces the agent's
 * previous list. An agent may probe equipment that has no agent (a printer, a switch) by address.
 */
import { type Static, Type } from '@sinclair/typebox';
import { EpochMs, message, Str, strict } from './common.js';

const Id = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$' });
const Common = {
  id: Id,
  intervalSec: Type.Integer({ minimum: 5, maximum: 86_400, default: 60 }),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
};

/** One check definition. */
export const CheckSpec = Type.Union([
  Type.Object({ ...Common, kind: Type.Literal('service'), name: Str(256, 1) }, strict),
  Type.Object({ ...Common, kind: Type.Literal('process'), name: Str(256, 1) }, strict),
  Type.Object(
    { ...Common, kind: Type.Literal('tcp'), host: Str(253, 1), port: Type.Integer({ minimum: 1, maximum: 65535 }) },
    strict,
  ),
  Type.Object(
    {
      ...Common,
      kind: Type.Literal('http'),
      url: Type.String({ pattern: '^https?://', maxLength: 2048 }),
      expectStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
      /** Fail when the TLS certificate expires within this many days. */
      minTlsDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 })),
    },
    strict,
  ),
  Type.Object({ ...Common, kind: Type.Literal('ping'), host: Str(253, 1) }, strict),
  Type.Object({ ...Common, kind: Type.Literal('dns'), name: Str(253, 1) }, strict),
]);
export type CheckSpec = Static<typeof CheckSpec>;

/** Collector → agent: the full list of checks this agent runs from now on. Idempotent by id. */
export const ChecksPolicy = message('checks.policy', {
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  expiresAt: EpochMs,
  checks: Type.Array(CheckSpec, { maxItems: 500 }),
});
export type ChecksPolicy = Static<typeof ChecksPolicy>;
