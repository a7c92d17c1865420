/**
 * `pnpm bench:detection` — the detection figures of docs/0003-detection.md:
 * 1. detector throughput on one core: `DetectionEngine.ingest` as the stream calls it (policy lookup, baselines,
 *    thresholds, forecasts, correlation state; samples/s, target ≥ 1 M), and beside it the bare `baselineStep` the
 *    engine runs per sample (the ceiling);
 * 2. latency from a decisive sample's arrival at the metrics sink to the incident row (p50/p99, target p99 ≤ 1 s),
 *    with the real SQLite metrics store, engine and incident service (ticket, timeline and notice committed); an
 *    agent whose incident never opened is counted as missed (and fails the run), not dropped from the figures;
 * 3. metrics ingest into SQLite (samples/s) next to a raw better-sqlite3 insert loop in the same run, and the same
 *    insert with an (agent, metric, ts) index, to show why the table is append-only (target ≥ 0.5 × raw).
 * The last line is one JSON object with every figure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuditLog,
  Contracts,
  detection,
  IncidentService,
  MetricsService,
  MetricsStore,
  MIGRATIONS,
  metricsMigrations,
  migrate,
  openDatabase,
  sqlOf,
} from '@outpost/collector';

// A silent logger (pino is not a dependency of scripts); the engine only logs on maintenance and failures.
const quiet = () => undefined;
const silent = { info: quiet, warn: quiet, error: quiet, debug: quiet, child: () => silent };
const logger = silent as never;
const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-detection-'));
const noise = (i: number) => {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return x - Math.floor(x);
};

// 1. Throughput.
const series = 1000;
const states = Array.from({ length: series }, () => detection.newBaselineState());
const n = 3_000_000;
let t0 = performance.now();
let acc = 0;
for (let i = 0; i < n; i++) {
  const s = i % series;
  acc += detection.baselineStep(
    states[s]!,
    1_700_000_000_000 + Math.floor(i / series) * 30_000,
    50 + 10 * noise(i),
    detection.DEFAULT_BASELINE,
  );
}
const throughput = n / ((performance.now() - t0) / 1000);

// 2. Latency: sink → store → engine → incident row, measured per decisive sample.
const db = openDatabase(join(dir, 'lat.db'));
migrate(db, MIGRATIONS);
const clock = { now: () => Date.now() };
const audit = new AuditLog(sqlOf(db), clock, logger);
// No contract for the bench client: tickets open without an SLA clock (the clock's cost is the SLA engine's).
const contracts = new Contracts({
  db: sqlOf(db),
  audit,
  clock,
  deps: { clientExists: async () => true, siteClient: async () => 'cl', member: async () => undefined },
});
const incidents = new IncidentService({
  db: sqlOf(db),
  audit,
  clock,
  logger,
  sla: contracts,
  deps: {
    siteClient: async () => 'cl',
    agentPlace: async () => ({ clientId: 'cl', siteId: 'si' }),
    member: async () => undefined,
  },
  options: { autoResolveHoldMs: 300_000, reopenWindowMs: 86_400_000 },
});
const engine = new detection.DetectionEngine({
  sink: incidents,
  presence: { place: async () => ({ clientId: 'cl', siteId: 'si', hostname: 'h' }), lastSeen: async () => [] },
  policies: new detection.PolicySet(),
  clock,
  logger,
});
// 1b. The engine itself, on steady series (no incident opens: the cost of the hot path, not of the incident store).
const engineSeries = 1000;
const engineRounds = 200;
t0 = performance.now();
for (let r = 0; r < engineRounds; r++) {
  const time = 1_700_000_000_000 + r * 30_000;
  for (let a = 0; a < engineSeries / 10; a++) {
    const values: Record<string, number> = {};
    for (let m = 0; m < 10; m++) values[`bench.m${m}`] = 50 + 10 * noise(r * engineSeries + a * 10 + m);
    await engine.ingest(`ag_steady_${a}`, [{ time, values }]);
  }
}
const engineThroughput = (engineSeries * engineRounds) / ((performance.now() - t0) / 1000);
const engineOpened = engine.counters.raised;

const ticketOf = async (agentId: string) => (await incidents.list({ agentId, limit: 1 })).total > 0;
const service = new MetricsService({ store: new MetricsStore(sqlOf(db)), consumer: engine, clock, logger });
const latencies: number[] = [];
let missed = 0;
let seq = 0;
const base = Date.now() - 400 * 30_000;
for (let a = 0; a < 200; a++) {
  const agentId = `ag_${a.toString(16).padStart(24, '0')}`;
  const batch = (time: number, v: number) => ({
    agentId,
    msg: {
      type: 'metrics.batch' as const,
      seq: ++seq,
      samples: [{ time, values: { 'cpu.total_pct': v, 'mem.used_pct': 40 + noise(seq) } }],
    },
  });
  for (let i = 0; i < 300; i++) await service.commit([batch(base + i * 30_000, 10 + 3 * noise(i + a))]);
  const arrival = performance.now();
  let opened = false;
  for (let i = 300; i < 310 && !opened; i++) {
    await service.commit([batch(base + i * 30_000, 97)]);
    opened = await ticketOf(agentId);
  }
  if (opened) latencies.push(performance.now() - arrival);
  else missed++;
}
latencies.sort((x, y) => x - y);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
await incidents.stop();
db.close();

// 3. Ingest vs raw insert loop (1,000-row transactions).
const rows = 300_000;
function rawLoop(indexed: boolean): number {
  const d = openDatabase(join(dir, `raw-${indexed}.db`));
  d.exec('CREATE TABLE s (agent TEXT, metric TEXT, ts INTEGER, value REAL)');
  if (indexed) d.exec('CREATE INDEX s_i ON s (agent, metric, ts)');
  const ins = d.prepare('INSERT INTO s VALUES (?, ?, ?, ?)');
  const tx = d.transaction((from: number) => {
    for (let i = from; i < from + 1000; i++) ins.run(`ag_${i % 500}`, `m${i % 20}`, 1_700_000_000_000 + i, i);
  });
  const start = performance.now();
  for (let i = 0; i < rows; i += 1000) tx(i);
  const rate = rows / ((performance.now() - start) / 1000);
  d.close();
  return rate;
}
const raw = rawLoop(false);
const indexed = rawLoop(true);
const idb = openDatabase(join(dir, 'ingest.db'));
migrate(idb, metricsMigrations);
const store = new MetricsStore(sqlOf(idb));
t0 = performance.now();
let s2 = 0;
for (let done = 0; done < rows; ) {
  // One commit = what the stream hands over: 50 agents × 1 round of 20 metrics = 1,000 samples.
  const batches = Array.from({ length: 50 }, (_, a) => {
    const values: Record<string, number> = {};
    for (let m = 0; m < 20; m++) values[`m${m}`] = done + m;
    return { agentId: `ag_${a}`, seq: ++s2, samples: [{ time: 1_700_000_000_000 + done, values }] };
  });
  await store.insertBatches(batches);
  done += 1000;
}
const ingest = rows / ((performance.now() - t0) / 1000);
idb.close();
rmSync(dir, { recursive: true, force: true });

const fmt = (x: number) => Math.round(x).toLocaleString('en');
console.log('detection bench');
console.log(
  `  detector throughput, DetectionEngine.ingest (1 core, ${engineSeries} series)   ${fmt(engineThroughput)} samples/s   (target ≥ 1,000,000)`,
);
console.log(`  baselineStep alone (the engine's ceiling, ${series} series)   ${fmt(throughput)} samples/s`);
console.log(
  `  sample → incident latency (${latencies.length} incidents, ${missed} missed)  p50 ${pct(50).toFixed(2)} ms   p99 ${pct(99).toFixed(2)} ms   (target p99 ≤ 1000 ms)`,
);
console.log(`  SQLite raw insert loop, no index               ${fmt(raw)} rows/s`);
console.log(`  SQLite insert with (agent, metric, ts) index   ${fmt(indexed)} rows/s`);
console.log(
  `  metrics ingest (MetricsStore.insertBatches)    ${fmt(ingest)} samples/s   = ${(ingest / raw).toFixed(2)} × raw (target ≥ 0.5)`,
);
console.log(
  JSON.stringify({
    engineSamplesPerSec: Math.round(engineThroughput),
    engineIncidentsOnSteadySeries: engineOpened,
    baselineStepSamplesPerSec: Math.round(throughput),
    latencyP50Ms: +pct(50).toFixed(3),
    latencyP99Ms: +pct(99).toFixed(3),
    incidents: latencies.length,
    missedIncidents: missed,
    rawInsertRowsPerSec: Math.round(raw),
    indexedInsertRowsPerSec: Math.round(indexed),
    ingestSamplesPerSec: Math.round(ingest),
    ingestVsRaw: +(ingest / raw).toFixed(3),
    checksum: Math.round(acc),
  }),
);
// A decisive sample that never opened its incident is a detection failure, whatever the speed.
if (missed > 0) {
  console.error(`${missed} of ${latencies.length + missed} agents never got their incident`);
  process.exitCode = 1;
}
