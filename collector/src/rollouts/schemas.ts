/** Request and response schemas of the rollouts concern (docs/0011-releases.md, "Rollouts"). Responses are allow-lists. */
import { ReleaseVersion } from '@outpost/shared';
import { type Static, Type } from '@sinclair/typebox';
import { TagName } from '../agents/tags.js';
import { NullableString, NullableTime } from '../http/schemas.js';

const Id = Type.String({ minLength: 1, maxLength: 64 });

/** Which machines: named agents, a site, a client, a tag (they narrow each other); none of them: the whole fleet. */
export const RolloutTarget = Type.Object(
  {
    agentIds: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 100_000, uniqueItems: true })),
    siteId: Type.Optional(Id),
    clientId: Type.Optional(Id),
    /** Only machines carrying this tag. */
    tag: Type.Optional(TagName),
  },
  { additionalProperties: false },
);
export type RolloutTarget = Static<typeof RolloutTarget>;

/** A rollout as requested. Every duration is in seconds; absent fields take the documented defaults. */
export const RolloutInput = Type.Object(
  {
    version: ReleaseVersion,
    target: RolloutTarget,
    /** The test ring: these agents first, as their own wave (wave 0, before the canary). */
    ring: Type.Optional(Type.Array(Id, { maxItems: 1000, uniqueItems: true })),
    /** The test ring by tag: the targeted machines carrying it join the ring (with `ring` when both are given). */
    ringTag: Type.Optional(TagName),
    /** Machines in the canary wave (default 5). */
    canary: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    /** Cumulative percentages of the target after the canary, increasing, ending at 100 (default 5, 25, 100). */
    waves: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 100 }), { minItems: 1, maxItems: 20 })),
    /** Wait after a wave is healthy before the next one starts (default 1 h). */
    bakeSec: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })),
    /** A machine not back online on the new version this long after its assignment failed (default 15 min). */
    deadlineSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86_400 })),
    /** At most this many machines updating at once (default 10). */
    maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    /** Each machine waits a stable pseudo-random delay in [0, jitter) from its wave's start (default 10 min). */
    jitterSec: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
    /** Halt when this many machines of a wave failed (default 1 when no threshold is given). */
    haltAfter: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    /** Halt when this share of a wave failed, in percent. */
    haltPercent: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type RolloutInput = Static<typeof RolloutInput>;

/** A fleet rollback request. */
export const RollbackInput = Type.Object(
  {
    /** The version to go back to (default: the one the machines ran before, when they all ran the same). */
    version: Type.Optional(ReleaseVersion),
  },
  { additionalProperties: false },
);

const Counts = Type.Object({
  pending: Type.Integer(),
  updating: Type.Integer(),
  healthy: Type.Integer(),
  failed: Type.Integer(),
  rolledBack: Type.Integer(),
  skipped: Type.Integer(),
});

/** A rollout as listed. */
export const RolloutSummary = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  version: Type.String(),
  rollbackOf: NullableString,
  state: Type.String(),
  haltReason: NullableString,
  /** The wave being rolled out (1-based for people), or the number of waves once done. */
  wave: Type.Integer(),
  waves: Type.Integer(),
  totals: Counts,
  createdBy: Type.String(),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  finishedAt: NullableTime,
});
export type RolloutSummary = Static<typeof RolloutSummary>;

/** A rollout with its waves (and agents when asked). */
export const RolloutView = Type.Composite([
  RolloutSummary,
  Type.Object({
    target: Type.Unknown(),
    options: Type.Object({
      bakeSec: Type.Number(),
      deadlineSec: Type.Number(),
      maxConcurrent: Type.Integer(),
      jitterSec: Type.Number(),
      haltAfter: Type.Union([Type.Integer(), Type.Null()]),
      haltPercent: Type.Union([Type.Number(), Type.Null()]),
    }),
    waveList: Type.Array(
      Type.Composite([
        Type.Object({ index: Type.Integer(), name: Type.String(), status: Type.String(), total: Type.Integer() }),
        Counts,
      ]),
    ),
    agents: Type.Optional(
      Type.Array(
        Type.Object({
          agentId: Type.String(),
          wave: Type.Integer(),
          state: Type.String(),
          platform: Type.String(),
          fromVersion: Type.String(),
          assignedAt: NullableTime,
          finishedAt: NullableTime,
          code: NullableString,
          reason: NullableString,
        }),
      ),
    ),
  }),
]);
export type RolloutView = Static<typeof RolloutView>;

/** A page of rollouts. */
export const RolloutList = Type.Object({ rollouts: Type.Array(RolloutSummary) });
