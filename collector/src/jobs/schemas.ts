/** Request and response schemas of the jobs concern (docs/0010-jobs.md). Responses are allow-lists. */
import { EpochMs, JOB_SCRIPT_MAX_BYTES, PackageName, RebootPolicy } from '@outpost/shared';
import { type Static, Type } from '@sinclair/typebox';
import { TagName } from '../agents/tags.js';
import { NullableString, NullableTime } from '../http/schemas.js';
import { JobWindow } from './window.js';

const Id = Type.String({ minLength: 1, maxLength: 64 });
/** A script name: lower case, digits, dot, dash, underscore (it names files and appears in signatures). */
export const ScriptName = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' });

/** A script version as added. */
export const ScriptInput = Type.Object(
  {
    name: ScriptName,
    /** The client whose machines it is for; absent or null: the organisation's shared library (global right). */
    clientId: Type.Optional(Type.Union([Id, Type.Null()])),
    shell: Type.Union([Type.Literal('shell'), Type.Literal('powershell')], { default: 'shell' }),
    description: Type.String({ maxLength: 500, default: '' }),
    body: Type.String({ minLength: 1, maxLength: JOB_SCRIPT_MAX_BYTES }),
    /** Ed25519 signature by the organisation's offline key (`outpost scripts sign`), base64url. */
    signature: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{86}$' })),
  },
  { additionalProperties: false },
);
export type ScriptInput = Static<typeof ScriptInput>;

/** A script version as listed (no body). */
export const ScriptSummary = Type.Object({
  id: Type.String(),
  clientId: NullableString,
  name: Type.String(),
  version: Type.Integer(),
  shell: Type.String(),
  description: Type.String(),
  sha256: Type.String(),
  signed: Type.Boolean(),
  createdBy: Type.String(),
  createdAt: Type.Integer(),
});
/** A script version with its body and signature. */
export const ScriptView = Type.Composite([
  ScriptSummary,
  Type.Object({ body: Type.String(), signature: NullableString, versions: Type.Array(Type.Integer()) }),
]);

/** What a job does, as requested. */
export const JobSpecInput = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('script'),
      /** The script's id (`sc_…`). */
      script: Type.String({ pattern: '^sc_[0-9a-f]{24}$' }),
      /** Default: the latest version. */
      version: Type.Optional(Type.Integer({ minimum: 1 })),
      args: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 32 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('patch'),
      scope: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('security')])),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('software'),
      action: Type.Union([Type.Literal('install'), Type.Literal('remove')]),
      packages: Type.Array(PackageName, { minItems: 1, maxItems: 64 }),
    },
    { additionalProperties: false },
  ),
]);
export type JobSpecInput = Static<typeof JobSpecInput>;

/** Which machines: named agents, a site, a client, a tag, and/or a fleet query (they narrow each other). */
export const JobTarget = Type.Object(
  {
    agentIds: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 10_000, uniqueItems: true })),
    siteId: Type.Optional(Id),
    clientId: Type.Optional(Id),
    /** Machines carrying this tag (`outpost agents tag`); a tag no machine has targets nobody. */
    tag: Type.Optional(TagName),
    /** Machines with a security update pending for more than this many days (stored inventory). */
    securityPatchesOlderThanDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export type JobTarget = Static<typeof JobTarget>;

/** A job as requested. */
export const JobInput = Type.Object(
  {
    spec: JobSpecInput,
    target: JobTarget,
    /** Recurring window in each machine's site time zone; absent: as soon as the machine is online. */
    window: Type.Optional(JobWindow),
    /**
     * Not before this instant (epoch ms). Bounded as a date (year 275760): its expiry, this plus `expiresInSec`, must
     * stay a safe integer, or PostgreSQL stores a BIGINT every later read of the job refuses (the jobs list of everyone).
     */
    notBefore: Type.Optional(EpochMs),
    /** Machines that have not started it by then never run it; default 7 days. */
    expiresInSec: Type.Integer({ minimum: 1, maximum: 90 * 86_400, default: 7 * 86_400 }),
    /** Default: script 300 s, software 1800 s, patch 3600 s. */
    timeoutSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    reboot: Type.Optional(RebootPolicy),
  },
  { additionalProperties: false },
);
export type JobInput = Static<typeof JobInput>;

const Counts = Type.Record(Type.String(), Type.Integer());

/** A job as listed. */
export const JobSummary = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  /** `patch all`, `script cleanup v3`, `software install htop`. */
  what: Type.String(),
  status: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.Integer(),
  notBefore: Type.Integer(),
  expiresAt: Type.Integer(),
  window: Type.Union([JobWindow, Type.Null()]),
  reboot: RebootPolicy,
  timeoutSec: Type.Integer(),
  retryOf: NullableString,
  /** Targets per state. */
  counts: Counts,
});
export type JobSummary = Static<typeof JobSummary>;

/** One machine of a job. */
export const TargetView = Type.Object({
  agentId: Type.String(),
  hostname: Type.String(),
  clientId: Type.String(),
  siteId: Type.String(),
  state: Type.String(),
  sentAt: NullableTime,
  startedAt: NullableTime,
  finishedAt: NullableTime,
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  signal: NullableString,
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  outputHead: Type.String(),
  outputTail: Type.String(),
  truncatedBytes: Type.Integer(),
  rebootRequired: Type.Boolean(),
  rebootScheduled: Type.String(),
  reason: Type.String(),
});
export type TargetView = Static<typeof TargetView>;

/** A job with its machines. */
export const JobView = Type.Composite([JobSummary, Type.Object({ targets: Type.Array(TargetView) })]);
export type JobView = Static<typeof JobView>;

/** A page of jobs. */
export const JobList = Type.Object({ jobs: Type.Array(JobSummary) });

/** Every script version the caller may see (no bodies). */
export const ScriptList = Type.Object({ scripts: Type.Array(ScriptSummary) });
