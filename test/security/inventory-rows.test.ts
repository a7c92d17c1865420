/**
 * Inventory rows on a real agent socket (a collector on loopback, real SQLite, a raw agent speaking the protocol):
 * a row that does not match its probe's closed schema refuses its probe's set with OUTPOST_E_INVENTORY_ROW, logged
 * with the agent id and the probe, stores none of it (not even the parts of a multi-part set that were fine), keeps
 * the probe's previous rows, and leaves the socket and the report's other sets alone. The inventory route's answer
 * matches its closed response schema, serves a row stored without a column added since, and drops a stored column
 * the schema does not know (docs/0002-inventory.md, "Closed rows").
 */
import { Writable } from 'node:stream';
import { apiCall, inventory } from '@outpost/collector';
import { MessageDecoder, type ProbeName, rowsHash } from '@outpost/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../support/collector.js';
import { enrolledIdentity, RawAgent } from '../support/raw-agent.js';

type Row = Record<string, unknown>;
let c: TestCollector;
let a: RawAgent;
let agentId: string;
/** Every JSON log line the collector wrote at warn and above. */
const logs: Row[] = [];
/** The route's closed response schema, compiled: `check` throws a coded error naming the first field that differs. */
const answer = new MessageDecoder(inventory.InventoryAnswerSchema);
const rows = inventory.demoRows({
  hostname: 'ws-01',
  serial: 'SN-ROWS-1',
  uuid: 'uuid-rows-1',
  mac: '02:00:00:00:00:01',
});
let seq = 0;

/** One probe's full set (or one part of it), its hash computed over `all` as the agent would. */
const set = (
  probe: ProbeName,
  upserts: Row[],
  o: { part?: number; parts?: number; all?: Row[]; setId?: string } = {},
) => ({
  probe,
  mode: 'full',
  baseHash: '',
  setId: o.setId ?? `set${seq}${probe.length}`,
  part: o.part ?? 1,
  parts: o.parts ?? 1,
  collectedAt: Date.now(),
  hash: rowsHash(probe, o.all ?? upserts),
  upserts,
  removes: [],
});

/** Sends one report and waits for its acknowledgement (the collector committed it). */
async function report(sets: unknown[]): Promise<void> {
  seq++;
  a.sendJson({ type: 'inventory.report', seq, time: Date.now(), reason: 'scheduled', sets });
  expect((await a.next('stream.ack')).seq).toBe(seq);
}

async function view() {
  return answer.check(await apiCall<unknown>(c.admin, 'GET', `/api/v1/agents/${agentId}/inventory`));
}
const probeOf = async <P extends ProbeName>(p: P) => (await view()).probes.find((e) => e.probe === p)!;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Row);
      cb();
    },
  });
  c = await startTestCollector({}, { logger: pino({ level: 'warn' }, sink) });
  const id = await enrolledIdentity(c.agentUrl, (await c.enrollmentToken()).token);
  agentId = id.agentId;
  a = await RawAgent.connect(c.agentUrl);
  await a.keyAuth(agentId, id.keys.privateKey);
  await a.next('collector.welcome');
  await report((['system_info', 'cpu', 'memory'] as const).map((p) => set(p, rows[p])));
});
afterAll(async () => {
  a?.close();
  await c?.[Symbol.asyncDispose]();
});

describe('a malformed row from an agent', () => {
  it('refuses its probe set with OUTPOST_E_INVENTORY_ROW, logged with agent and probe; the other sets apply', async () => {
    const cpuBefore = (await probeOf('cpu')).rows;
    expect(cpuBefore).toEqual(rows.cpu);
    const bad = { ...rows.cpu[0]!, sockets: 'two' };
    const memory = [...rows.memory, { ...rows.memory[0]!, slot: 'DIMM-NEW' }];
    await report([set('cpu', [bad]), set('memory', memory)]);

    const cpu = await probeOf('cpu');
    expect(cpu.errorCode).toBe('OUTPOST_E_INVENTORY_ROW');
    expect(cpu.errorMessage).toContain('/sockets');
    expect(cpu.rows).toEqual(cpuBefore); // the previous rows stay; nothing of the bad set was stored
    expect((await probeOf('memory')).rows).toHaveLength(memory.length);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 40,
        agentId,
        probe: 'cpu',
        row: 0,
        path: '/sockets',
        err: expect.objectContaining({ code: 'OUTPOST_E_INVENTORY_ROW' }),
      }),
    );
    expect(a.ws.readyState).toBe(a.ws.OPEN); // the stream goes on: no reconnect loop over one row
  });

  it('refuses a column the probe does not have, and cleans the hostile column name (an escape) in the log', async () => {
    await report([set('cpu', [{ ...rows.cpu[0]!, 'evil\u001b[31m': 'x' }])]);
    const line = logs.findLast((l) => l.probe === 'cpu')!;
    expect(line.path).toBe('/evil');
    expect((await probeOf('cpu')).errorCode).toBe('OUTPOST_E_INVENTORY_ROW');
  });

  it('stores no part of a multi-part set when a later part has a bad row', async () => {
    const before = (await probeOf('memory')).rows;
    const good = rows.memory.map((r, i) => ({ ...r, slot: `P${i}` }));
    const badRow = { ...rows.memory[0]!, kind: 'cache' };
    const all = [...good, badRow];
    await report([set('memory', good, { part: 1, parts: 2, all, setId: 'two-parts' })]);
    await report([set('memory', [badRow], { part: 2, parts: 2, all, setId: 'two-parts' })]);
    const memory = await probeOf('memory');
    expect(memory.errorCode).toBe('OUTPOST_E_INVENTORY_ROW');
    expect(memory.rows).toEqual(before);
  });

  it('clears the error with the next good set', async () => {
    await report([set('cpu', rows.cpu)]);
    const cpu = await probeOf('cpu');
    expect(cpu.errorCode).toBeNull();
    expect(cpu.rows).toEqual(rows.cpu);
  });
});

describe('the inventory answer', () => {
  it('serves an old row without a newer column, and never a stored column its schema does not know', async () => {
    // A row as an older agent stored it (no max_mhz), plus a column no schema has: written straight into SQLite.
    const { max_mhz: _dropped, ...old } = rows.cpu[0]!;
    await c.collector.sql.run("UPDATE inv_rows SET data = ? WHERE probe = 'cpu'", [
      JSON.stringify({ ...old, secret: 'from an old bug' }),
    ]);
    const cpu = await probeOf('cpu');
    expect(cpu.rows).toEqual([old]);
    expect(cpu.rows[0]).not.toHaveProperty('secret');
  });
});
