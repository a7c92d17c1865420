/**
 * The metrics family (docs/0003-detection.md): the agent samples on a jittered interval and sends each round as one
 * sequenced `metrics.batch` through the durable outbox; check results travel the same way. The collector stores
 * them and feeds its detection engine.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Count, EpochMs, message, Seq, Str, strict } from './common.js';

/** A metric name: dotted lowercase, with an optional `:instance` (volume, interface, core), e.g. `disk.used_pct:/var`. */
export const MetricName = Type.String({ pattern: '^[a-z][a-z0-9_.]{0,63}(:[^\\s,]{1,128})?$' });

/** One process of the top list, kept as context for incidents. */
export const TopProcess = Type.Object(
  {
    pid: Count,
    name: Str(128, 1),
    cpuPct: Type.Number({ minimum: 0, maximum: 100_000 }),
    memBytes: Type.Number({ minimum: 0 }),
  },
  strict,
);
export type TopProcess = Static<typeof TopProcess>;

/** One sampling round: every metric at one instant. */
export const MetricsSample = Type.Object(
  {
    time: EpochMs,
    values: Type.Record(MetricName, Type.Number(), { maxProperties: 2000 }),
    /** Top processes by CPU and by memory at that instant (at most 10 each). */
    top: Type.Optional(Type.Array(TopProcess, { maxItems: 20 })),
  },
  strict,
);
export type MetricsSample = Static<typeof MetricsSample>;

/** One or more sampling rounds (several after the agent was offline), in time order. */
export const MetricsBatch = message('metrics.batch', {
  seq: Seq,
  samples: Type.Array(MetricsSample, { minItems: 1, maxItems: 200 }),
});
export type MetricsBatch = Static<typeof MetricsBatch>;

/** One check result (service, process, TCP port, HTTP, ping, DNS). */
export const CheckResult = Type.Object(
  {
    checkId: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$' }),
    time: EpochMs,
    ok: Type.Boolean(),
    /** Latency or the measured figure (ms, days left…). */
    value: Type.Optional(Type.Number()),
    message: Str(1024),
  },
  strict,
);
export type CheckResult = Static<typeof CheckResult>;

/** Results of the checks run in one round. */
export const ChecksResults = message('checks.results', {
  seq: Seq,
  results: Type.Array(CheckResult, { minItems: 1, maxItems: 500 }),
});
export type ChecksResults = Static<typeof ChecksResults>;
