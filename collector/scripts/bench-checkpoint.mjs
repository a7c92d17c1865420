// Start and checkpoint of detection on SQLite with N agents' checkpoint (docs/0003-detection.md, "Checkpoint"):
// the load at start before the per-agent checkpoint (store.load() + engine.restore(), what core.ts did) and after
// (AgentCheckpoints.loadAll()), and a checkpoint write (old: DELETE all + insert all; new: changed keys only).
// Run after `pnpm build`: node collector/scripts/bench-checkpoint.mjs [agents] [rounds]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { MIGRATIONS } from '../dist/app.js';
import { migrate, openDatabase, sqlOf } from '../dist/db/index.js';
import { DetectionEngine } from '../dist/detection/engine.js';
import { MemoryIncidentSink } from '../dist/detection/memory-sink.js';
import { PolicySet } from '../dist/detection/policy.js';
import { DetectionStore } from '../dist/detection/store.js';

const AGENTS = Number(process.argv[2] ?? 5000);
const ROUNDS = Number(process.argv[3] ?? 5);
const METRICS = ['cpu.total_pct', 'mem.used_pct', 'disk.C:.used_pct', 'disk.D:.used_pct', 'net.rx_bps', 'net.tx_bps'];
const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-checkpoint-'));
const db = openDatabase(join(dir, 'outpost.db'));
migrate(db, MIGRATIONS);
const sql = sqlOf(db);
const store = new DetectionStore(sql);
const clock = { t: Date.UTC(2026, 0, 5), now: () => clock.t };
const engine = () =>
  new DetectionEngine({
    sink: new MemoryIncidentSink(),
    clock,
    logger,
    policies: new PolicySet([]),
    presence: { place: async (id) => ({ clientId: 'cl_1', siteId: 'si_1', hostname: id }), lastSeen: async () => [] },
    checkpoint: { store },
  });

const seed = engine();
await seed.checkpoints.loadAll();
for (let s = 0; s < 20; s++) {
  clock.t += 30_000;
  for (let a = 0; a < AGENTS; a++) {
    const values = Object.fromEntries(METRICS.map((m, i) => [m, 10 + i + Math.sin(a + s * 7 + i)]));
    await seed.ingest(`ag_${a}`, [{ time: clock.t, values }]);
  }
}
await seed.checkpoints.checkpoint();
const keys = (await store.load()).size;

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const before = [];
const after = [];
const writeOld = [];
const writeNone = [];
const writeAll = [];
for (let r = 0; r < ROUNDS; r++) {
  let t0 = process.hrtime.bigint();
  const old = engine();
  old.restore(await store.load());
  before.push(ms(t0));

  t0 = process.hrtime.bigint();
  const now = engine();
  await now.checkpoints.loadAll();
  after.push(ms(t0));

  // The old checkpoint: the whole table replaced.
  const entries = old.snapshot();
  t0 = process.hrtime.bigint();
  const rows = [...entries].map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]);
  await sql.atomic(async () => {
    await sql.run('DELETE FROM detection_state');
    await sql.runMany('INSERT INTO detection_state (key, state) VALUES (?, ?)', rows);
  });
  writeOld.push(ms(t0));
  // The old write left agent_id NULL: put the rows back as the new code writes them.
  await seed.checkpoints.checkpoint();
  await sql.run("UPDATE detection_state SET agent_id = substr(key, 1, instr(key, '|') - 1) WHERE agent_id IS NULL");

  t0 = process.hrtime.bigint();
  await now.checkpoints.checkpoint(); // nothing changed since the load
  writeNone.push(ms(t0));

  clock.t += 30_000;
  for (let a = 0; a < AGENTS; a++) {
    const values = Object.fromEntries(METRICS.map((m, i) => [m, 11 + i]));
    await now.ingest(`ag_${a}`, [{ time: clock.t, values }]);
  }
  t0 = process.hrtime.bigint();
  await now.checkpoints.checkpoint(); // every series changed
  writeAll.push(ms(t0));
}
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
console.log(`${AGENTS} agents, ${keys} checkpoint keys, ${ROUNDS} rounds`);
console.log(`start, before (load + restore):       ${fmt(before)}`);
console.log(`start, after (loadAll):               ${fmt(after)}`);
console.log(`checkpoint, before (delete + insert): ${fmt(writeOld)}`);
console.log(`checkpoint, after, nothing changed:   ${fmt(writeNone)}`);
console.log(`checkpoint, after, every key changed: ${fmt(writeAll)}`);
db.close();
rmSync(dir, { recursive: true, force: true });
