/**
 * The checkpoint per agent with two engines (two nodes) on one database, the real checkpoint store, on SQLite and
 * PostgreSQL: an agent moving from node A to node B keeps its open incident (not raised again, not lost, cleared on B),
 * and nodes holding different agents never erase each other's state. One incident sink stands for the shared
 * incidents table.
 */
import pino from 'pino';
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import type { SqlDb } from '../db/index.js';
import { DetectionEngine } from './engine.js';
import { MemoryIncidentSink } from './memory-sink.js';
import { PolicySet } from './policy.js';
import { DetectionStore, detectionMigrations } from './store.js';

const logger = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);
const KEY = 'baseline:ag_0:cpu.total_pct';

/** One node's engine on the shared database; the clock is shared too (the nodes' clocks agree). */
type LastSeen = { agentId: string; lastSeenAt: number | null; online: boolean }[];

function node(
  db: SqlDb,
  sink: MemoryIncidentSink,
  clock: { t: number; now(): number },
  releaseAfterMs = 20,
  lastSeen: () => LastSeen = () => [],
) {
  return new DetectionEngine({
    sink,
    clock,
    logger,
    policies: new PolicySet([]),
    presence: {
      place: async (id) => ({ clientId: 'cl_1', siteId: 'si_1', hostname: id }),
      lastSeen: async () => lastSeen(),
    },
    options: { heartbeatIntervalMs: 30_000 },
    checkpoint: { store: new DetectionStore(db), releaseAfterMs },
  });
}

function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

async function feed(
  engine: DetectionEngine,
  clock: { t: number },
  agentId: string,
  from: number,
  to: number,
  value: (i: number) => number,
) {
  for (let i = from; i < to; i++) {
    clock.t = T0 + i * 30_000;
    await engine.ingest(agentId, [{ time: clock.t, values: { 'cpu.total_pct': value(i) } }]);
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const raises = (sink: MemoryIncidentSink) => sink.events.filter((e) => e.kind === 'raise');
const clears = (sink: MemoryIncidentSink) => sink.events.filter((e) => e.kind === 'clear');

describeStores('detection state moving between nodes', detectionMigrations, (db) => {
  it('an agent with an open baseline incident moves from A to B: B neither raises it again nor loses it, and clears it', async () => {
    const sink = new MemoryIncidentSink();
    const clock = { t: T0, now: () => clock.t };
    const a = node(db(), sink, clock);
    const b = node(db(), sink, clock);

    await a.hold('ag_0');
    await feed(a, clock, 'ag_0', 0, 400, (i) => 10 + 2 * noise(i));
    await feed(a, clock, 'ag_0', 400, 410, () => 95);
    expect(raises(sink).map((e) => (e.kind === 'raise' ? e.signal.key : ''))).toEqual([KEY]);

    // Its socket closes on A (it moved): A writes its state at once and lets it go after the delay.
    await a.checkpoints!.release('ag_0');
    await until('A to let ag_0 go', () => !a.checkpoints!.holds('ag_0'));

    // Its first samples on B are judged on the state A wrote (B loads it before the first one): still abnormal,
    // nothing raised again; back to normal, B clears it.
    await feed(b, clock, 'ag_0', 410, 415, () => 95);
    expect(raises(sink)).toHaveLength(1);
    expect(sink.open.has(KEY)).toBe(true);
    await feed(b, clock, 'ag_0', 415, 450, (i) => 10 + 2 * noise(i));
    expect(clears(sink).map((e) => (e.kind === 'clear' ? e.key : ''))).toEqual([KEY]);
    expect(sink.open.size).toBe(0);
    expect(raises(sink)).toHaveLength(1);

    // B's checkpoint holds the cleared state; A's later checkpoint (it no longer holds ag_0) leaves it alone.
    await b.checkpoints!.checkpoint();
    const onB = b.snapshot().get('ag_0|cpu.total_pct')!;
    await a.checkpoints!.checkpoint();
    const stored = (await new DetectionStore(db()).loadAgent('ag_0')).get('ag_0|cpu.total_pct')!;
    expect(Buffer.from(stored).equals(Buffer.from(onB))).toBe(true);

    // Back on A later: A loads what B wrote, not what it held before the move.
    expect(a.snapshot().has('ag_0|cpu.total_pct')).toBe(false);
    await a.hold('ag_0');
    expect(Buffer.from(a.snapshot().get('ag_0|cpu.total_pct')!).equals(Buffer.from(onB))).toBe(true);
  });

  it('a quick reconnect to the same node keeps the state in memory; a sample waits for the load', async () => {
    const sink = new MemoryIncidentSink();
    const clock = { t: T0, now: () => clock.t };
    const a = node(db(), sink, clock, 60_000);
    await feed(a, clock, 'ag_0', 0, 400, (i) => 10 + 2 * noise(i));
    await feed(a, clock, 'ag_0', 400, 410, () => 95);
    await a.checkpoints!.release('ag_0');
    await a.hold('ag_0'); // back within the delay
    expect(a.checkpoints!.holds('ag_0')).toBe(true);
    await feed(a, clock, 'ag_0', 410, 450, (i) => 10 + 2 * noise(i));
    expect(clears(sink)).toHaveLength(1);
    a.checkpoints!.stop();
  });

  it('two nodes holding different agents never erase each other; a key an engine dropped is deleted', async () => {
    const sink = new MemoryIncidentSink();
    const clock = { t: T0, now: () => clock.t };
    const a = node(db(), sink, clock);
    const b = node(db(), sink, clock);
    const store = new DetectionStore(db());
    const rule = 'rule|ag_1|cpu.total_pct|>95';
    await feed(a, clock, 'ag_1', 0, 12, () => 100); // the shipped CPU threshold opens
    await feed(b, clock, 'ag_2', 0, 50, (i) => 20 + noise(i));
    await a.checkpoints!.checkpoint();
    await b.checkpoints!.checkpoint();
    await a.checkpoints!.checkpoint(); // nothing changed on A: nothing written, B's rows stay
    const both = () => [...a.snapshot().keys(), ...b.snapshot().keys()].sort();
    expect([...(await store.load()).keys()].sort()).toEqual(both());
    expect((await store.loadAgent('ag_1')).has(rule)).toBe(true);
    expect([...(await store.loadAgent('ag_2')).keys()].sort()).toEqual([...b.snapshot().keys()].sort());

    // The threshold clears on A: its rule state is no longer kept, so A deletes that key, and only that one.
    await feed(a, clock, 'ag_1', 12, 30, () => 10);
    expect(a.snapshot().has(rule)).toBe(false);
    await a.checkpoints!.checkpoint();
    expect((await store.loadAgent('ag_1')).has(rule)).toBe(false);
    expect([...(await store.load()).keys()].sort()).toEqual(both());
  });

  it("absence is the fleet sweeps' holder's: the agent's node clears it, the holder forgets it and deletes its key", async () => {
    const sink = new MemoryIncidentSink();
    const clock = { t: T0, now: () => clock.t };
    let seen: LastSeen = [{ agentId: 'ag_3', lastSeenAt: T0 - 60_000, online: false }];
    const holder = node(db(), sink, clock, 20, () => seen);
    const b = node(db(), sink, clock);
    const store = new DetectionStore(db());
    await holder.checkpoints!.ownFleet();
    clock.t = T0 + 3_600_000;
    await holder.sweepAbsence();
    expect([...sink.open.keys()]).toEqual(['absence:ag_3']);
    await holder.checkpoints!.checkpoint();
    expect([...(await store.loadFleet()).keys()]).toEqual(['absent|ag_3']);

    // The agent connects to B: B loads its absence key with its state, and its first sample clears the incident.
    await feed(b, clock, 'ag_3', 120, 121, () => 10);
    expect(clears(sink).map((e) => (e.kind === 'clear' ? e.key : ''))).toEqual(['absence:ag_3']);
    await b.checkpoints!.checkpoint(); // B does not write fleet keys
    expect([...(await store.loadFleet()).keys()]).toEqual(['absent|ag_3']);

    // The holder sees it heard (last seen, from the database) and forgets it; its next checkpoint deletes the key.
    seen = [{ agentId: 'ag_3', lastSeenAt: clock.t, online: false }];
    await holder.sweepAbsence();
    await holder.checkpoints!.checkpoint();
    expect((await store.loadFleet()).size).toBe(0);
    expect(raises(sink)).toHaveLength(1);

    // Silent again past the grace: the holder raises it again.
    clock.t += 3_600_000;
    await holder.sweepAbsence();
    expect(raises(sink)).toHaveLength(2);
    expect(sink.open.has('absence:ag_3')).toBe(true);
  });
});
