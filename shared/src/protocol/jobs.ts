/**
 * The jobs family (docs/0010-jobs.md). `job.run` (collector → agent) carries everything the agent needs to run one
 * job — the script body itself, never a reference the agent would fetch — and is idempotent by `id`: the agent's
 * journal makes it run at most once however often it arrives. `job.status` (agent → collector) is sequenced, so a
 * result survives agent restarts and collector outages in the outbox.
 */
import { type Static, Type } from '@sinclair/typebox';
import { EpochMs, message, Seq, Str, strict } from './common.js';

/** A job id as the collector assigns it. */
export const JobId = Type.String({ pattern: '^jb_[0-9a-f]{24}$' });

/** The largest script body a job may carry (the agent socket refuses frames over 1 MiB). */
export const JOB_SCRIPT_MAX_BYTES = 256 * 1024;
/** Kept from the start of a job's output. */
export const JOB_OUTPUT_HEAD_BYTES = 32 * 1024;
/** Kept from the end of a job's output. */
export const JOB_OUTPUT_TAIL_BYTES = 32 * 1024;

/** A package name as apt, dnf, zypper and winget spell them (no option can hide in one: no leading dash). */
export const PackageName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._+:~-]{0,199}$' });

/** What the job does. */
export const JobSpec = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('script'),
      /** `shell`: /bin/sh on POSIX; `powershell`: powershell.exe -File on Windows. */
      shell: Type.Union([Type.Literal('shell'), Type.Literal('powershell')]),
      name: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }),
      version: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
      body: Str(JOB_SCRIPT_MAX_BYTES, 1),
      /** hex SHA-256 of the body's UTF-8 bytes. */
      sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
      /** Ed25519 signature by the organisation's offline key over `scriptSigningPayload` (base64url), if signed. */
      signature: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{86}$' })),
      args: Type.Array(Str(1024), { maxItems: 32 }),
    },
    strict,
  ),
  Type.Object(
    {
      kind: Type.Literal('patch'),
      /** `security`: security updates only where the package manager can tell (dnf, zypper); apt does all. */
      scope: Type.Union([Type.Literal('all'), Type.Literal('security')]),
    },
    strict,
  ),
  Type.Object(
    {
      kind: Type.Literal('software'),
      action: Type.Union([Type.Literal('install'), Type.Literal('remove')]),
      packages: Type.Array(PackageName, { minItems: 1, maxItems: 64 }),
    },
    strict,
  ),
]);
export type JobSpec = Static<typeof JobSpec>;

/** What to do about a reboot afterwards. */
export const RebootPolicy = Type.Object(
  {
    policy: Type.Union([Type.Literal('never'), Type.Literal('if-required'), Type.Literal('forced')]),
    /** Minutes between the job's end and the reboot (users are warned with `message`). */
    delayMin: Type.Integer({ minimum: 0, maximum: 1440, default: 5 }),
    message: Str(200),
  },
  strict,
);
export type RebootPolicy = Static<typeof RebootPolicy>;

/** Collector → agent: run this job once. Idempotent by id. */
export const JobRun = message('job.run', {
  id: JobId,
  expiresAt: EpochMs,
  timeoutSec: Type.Integer({ minimum: 1, maximum: 86_400 }),
  spec: JobSpec,
  reboot: RebootPolicy,
});
export type JobRun = Static<typeof JobRun>;

/**
 * Collector → agent: stop this job. A running job's process group gets SIGTERM, then SIGKILL after a grace; one still
 * queued behind another never starts. Either way the agent reports `cancelled`. Idempotent; unknown ids are ignored.
 */
export const JobCancel = message('job.cancel', { id: JobId });
export type JobCancel = Static<typeof JobCancel>;

/** Where a job stands on one agent. `started` is the only state that is not an outcome. */
export const JobState = Type.Union([
  Type.Literal('started'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('timed_out'),
  Type.Literal('interrupted'),
  Type.Literal('refused'),
  Type.Literal('expired'),
  Type.Literal('cancelled'),
]);
export type JobState = Static<typeof JobState>;

/** Agent → collector, sequenced: a job started or ended on this agent. */
export const JobStatus = message('job.status', {
  seq: Seq,
  time: EpochMs,
  jobId: JobId,
  state: JobState,
  exitCode: Type.Union([Type.Integer({ minimum: -2_147_483_648, maximum: 4_294_967_295 }), Type.Null()]),
  signal: Type.Union([Str(32), Type.Null()]),
  durationMs: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  /** The first JOB_OUTPUT_HEAD_BYTES of stdout and stderr interleaved. */
  outputHead: Str(JOB_OUTPUT_HEAD_BYTES),
  /** The last JOB_OUTPUT_TAIL_BYTES, when the output was longer than the head. */
  outputTail: Str(JOB_OUTPUT_TAIL_BYTES),
  /** Bytes dropped between head and tail. */
  truncatedBytes: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  rebootRequired: Type.Boolean(),
  /** The reboot command the agent ran (argv joined), or empty. */
  rebootScheduled: Str(512),
  /** Why it was refused, failed to start or was interrupted. */
  reason: Str(1024),
});
export type JobStatus = Static<typeof JobStatus>;
