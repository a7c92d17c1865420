/**
 * The updates concern's response schemas: what its routes answer and what the CLI checks it reads (docs/0013).
 * Imports TypeBox only, so the CLI can load it without Fastify or SQLite.
 */
import { Type } from '@sinclair/typebox';

/** A signed executable the collector serves. */
export const ReleaseView = Type.Object({
  version: Type.String(),
  platform: Type.String(),
  path: Type.String(),
  length: Type.Integer(),
  sha256: Type.String(),
  rollbackAllowed: Type.Boolean(),
});
/** What the collector publishes: TUF roles, the root's hash and the releases. */
export const ReleaseState = Type.Object({
  published: Type.Boolean(),
  rootSha256: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.Object({ role: Type.String(), version: Type.Integer(), expires: Type.String() })),
  releases: Type.Array(ReleaseView),
});

/** An upload area, opened. */
export const UploadStarted = Type.Object({ id: Type.String() });

/** A file received into an upload area. */
export const UploadedFile = Type.Object({ path: Type.String(), size: Type.Integer() });

/** The releases a committed upload published. */
export const ReleaseList = Type.Object({ releases: Type.Array(ReleaseView) });

/** An update assigned to one agent, and whether it was sent at once (online). */
export const UpdateAssigned = Type.Object({
  assignmentId: Type.String(),
  version: Type.String(),
  sent: Type.Boolean(),
});

/** An agent's update statuses, oldest first. */
export const UpdateStatuses = Type.Object({
  statuses: Type.Array(
    Type.Object({
      seq: Type.Integer(),
      time: Type.Integer(),
      assignmentId: Type.Union([Type.String(), Type.Null()]),
      phase: Type.String(),
      from: Type.String(),
      to: Type.String(),
      code: Type.Union([Type.String(), Type.Null()]),
      reason: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});
