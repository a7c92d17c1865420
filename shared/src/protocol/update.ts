/**
 * Agent self-update messages (docs/0011-releases.md). `update.assign` is the one seam between whatever decides
 * which agent runs which version (an admin today, rollout waves later) and the agent, which still verifies the
 * signed release itself: an assignment is necessary, never sufficient.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ReleaseVersion } from '../releases/layout.js';
import { EpochMs, message, Seq, Str } from './common.js';

const AssignmentId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

/** Collector → agent: run `version` (a signed release). Idempotent by id; ignored after `expiresAt`. */
export const UpdateAssign = message('update.assign', {
  id: AssignmentId,
  expiresAt: EpochMs,
  version: ReleaseVersion,
});
export type UpdateAssign = Static<typeof UpdateAssign>;

/** Where an update went: refused before anything changed, swapped (restarting into it), healthy, rolled back. */
export const UpdatePhase = Type.Union([
  Type.Literal('refused'),
  Type.Literal('swapped'),
  Type.Literal('healthy'),
  Type.Literal('rolled_back'),
]);
export type UpdatePhase = Static<typeof UpdatePhase>;

/** Agent → collector (reliable stream): one step of an update, with the coded reason of a refusal or rollback. */
export const UpdateStatus = message('update.status', {
  seq: Seq,
  time: EpochMs,
  /** The assignment this answers, when one caused it (an outcome found after a restart carries it too). */
  assignmentId: Type.Optional(AssignmentId),
  phase: UpdatePhase,
  /** The version running when the update began, and the one assigned. */
  from: ReleaseVersion,
  to: Str(64, 1),
  /** An OUTPOST_E_UPDATE_* code for `refused` and `rolled_back`. */
  code: Type.Optional(Type.String({ pattern: '^OUTPOST_E_[A-Z0-9_]{1,64}$' })),
  reason: Type.Optional(Str(1024)),
});
export type UpdateStatus = Static<typeof UpdateStatus>;
