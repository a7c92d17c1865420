/**
 * The inventory store through its sink on real SQLite: diffs and history, resync on a wrong base, multi-part sets,
 * device identity (reinstall, rename, placeholder serials, cloned-VM UUIDs), hostile strings, fleet queries, and
 * the perimeter report's figures against the store.
 */
import { type InventoryReport, type ProbeName, rowKey, rowsHash } from '@outpost/shared';
import { Value } from '@sinclair/typebox/value';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase, prepared, sqlOf } from '../db/index.js';
import {
  buildPerimeter,
  PerimeterReportSchema,
  renderPerimeterCsv,
  renderPerimeterHtml,
} from '../reports/perimeter/index.js';
import { type DemoMachine, demoRows, fullReport } from './demo-fleet.js';
import { isBogusSerial, isBogusUuid } from './identity.js';
import { FleetQueries } from './queries.js';
import { Inventory } from './service.js';
import { inventoryMigrations } from './store.js';

const DAY = 86_400_000;
type DataSet = Exclude<InventoryReport['sets'][number], { mode: 'error' }>;
type ErrorSet = Extract<InventoryReport['sets'][number], { mode: 'error' }>;
const NOW = Date.UTC(2025, 5, 1);

function setup(placements: Record<string, string> = {}) {
  const db = openDatabase(':memory:');
  migrate(db, inventoryMigrations);
  let now = NOW;
  const clock = { now: () => now };
  const requests: { agentId: string; probes: ProbeName[] }[] = [];
  const inv = new Inventory({
    db: sqlOf(db),
    deps: {
      placement: async (id) => ({
        clientId: placements[id] ?? 'cl_a',
        siteId: placements[id] === 'cl_b' ? 'si_b' : 'si_a',
      }),
      requestSnapshot: (agentId, probes) => requests.push({ agentId, probes }),
    },
    clock,
    logger: pino({ level: 'silent' }),
  });
  const send = (agentId: string, msg: InventoryReport) => inv.ingest([{ agentId, msg }], clock.now());
  const staged = () => prepared<[], { n: number }>(db, 'SELECT count(*) AS n FROM inv_staging').get()!.n;
  return { inv, requests, send, advance: (ms: number) => (now += ms), clock, staged, sql: sqlOf(db) };
}

const machine = (n: number, more: Partial<DemoMachine> = {}): DemoMachine => ({
  hostname: `pc-${n}`,
  serial: `SN000${n}X`,
  uuid: `4c4c4544-0000-1000-8000-00000000000${n}`,
  mac: `00:1a:2b:3c:4d:0${n}`,
  ...more,
});

function diff<P extends ProbeName>(
  seq: number,
  probe: P,
  before: Record<string, unknown>[],
  after: Record<string, unknown>[],
  time: number,
): InventoryReport {
  const keys = new Set(after.map((r) => rowKey(probe, r)));
  const old = new Map(before.map((r) => [rowKey(probe, r), JSON.stringify(r)]));
  return {
    type: 'inventory.report',
    seq,
    time,
    reason: 'scheduled',
    sets: [
      {
        probe,
        mode: 'diff',
        baseHash: rowsHash(probe, before),
        setId: `d${seq}`,
        part: 1,
        parts: 1,
        collectedAt: time,
        hash: rowsHash(probe, after),
        upserts: after.filter((r) => old.get(rowKey(probe, r)) !== JSON.stringify(r)),
        removes: [...old.keys()].filter((k) => !keys.has(k)),
      } as InventoryReport['sets'][number],
    ],
  };
}

describe('inventory store', () => {
  it('applies a snapshot then diffs, writes typed history, ignores resends, and resyncs on a wrong base', async () => {
    const { inv, send, requests, advance, clock } = setup();
    const rows = demoRows(
      machine(1, {
        software: [{ name: 'openssl', version: '3.0.1-1' }],
        patches: [{ name: 'openssl', security: true }],
        antivirus: [{ product: 'ClamAV', enabled: true, expiresAt: null }],
      }),
    );
    await send('ag_1', fullReport(1, rows, clock.now()));
    expect((await inv.inventory('ag_1')).probes.find((p) => p.probe === 'installed_software')!.rows).toHaveLength(51);
    expect(await inv.history('ag_1', 0, NOW + DAY)).toHaveLength(0); // a first snapshot is not history

    advance(DAY);
    const sw2 = rows.installed_software
      .map((r) => (r.name === 'openssl' ? { ...r, version: '3.0.2-1' } : r))
      .filter((r) => r.name !== 'lib-demo-0');
    sw2.push({ ...rows.installed_software[1]!, name: 'firefox-esr', version: '115.0' });
    await send('ag_1', diff(2, 'installed_software', rows.installed_software, sw2, clock.now()));
    await send('ag_1', diff(3, 'pending_patches', rows.pending_patches, [], clock.now()));
    const av2 = rows.licences.map((r) => ({ ...r, enabled: false, state: 'disabled' }));
    await send('ag_1', diff(4, 'licences', rows.licences, av2, clock.now()));
    await send('ag_1', diff(2, 'installed_software', rows.installed_software, sw2, clock.now())); // resend: ignored
    const kinds = (await inv.history('ag_1', 0, clock.now())).map((c) => `${c.kind} ${c.subject}`).sort();
    expect(kinds).toEqual([
      'av_state_changed ClamAV',
      'patch_installed openssl',
      'software_installed firefox-esr',
      'software_removed lib-demo-0',
      'software_upgraded openssl',
    ]);
    const sw = (await inv.inventory('ag_1', 'installed_software')).probes[0]!;
    expect(sw.hash).toBe(rowsHash('installed_software', sw2));
    expect(sw.rows).toHaveLength(51);
    const changes = await inv.recentChanges('ag_1', NOW + DAY - 1, NOW + DAY + 1);
    expect(changes.map((c) => c.summary)).toContain('software upgraded openssl 3.0.1-1 -> 3.0.2-1');

    // A diff against a state the collector does not have is refused and a snapshot requested.
    await send('ag_1', diff(5, 'installed_software', rows.installed_software, sw2, clock.now()));
    expect(requests).toEqual([{ agentId: 'ag_1', probes: ['installed_software'] }]);
    expect((await inv.inventory('ag_1', 'installed_software')).probes[0]!.stale).toBe(true);
  });

  it('asks an agent for snapshots once the stream batch commits, never for a batch that rolls back', async () => {
    const { inv, requests, clock, sql } = setup();
    // A diff from an agent the collector has no state for: it must send full snapshots.
    const report = diff(1, 'installed_software', [], [], clock.now());
    await expect(
      sql.transaction(async () => {
        await inv.ingest([{ agentId: 'ag_1', msg: report }], clock.now());
        expect(requests).toEqual([]); // not while the batch is open
        throw new Error('the batch failed after the inventory sink');
      }),
    ).rejects.toThrow('the batch failed');
    expect(requests).toEqual([]);
    await sql.transaction(() => inv.ingest([{ agentId: 'ag_1', msg: report }], clock.now()));
    expect(requests).toEqual([{ agentId: 'ag_1', probes: ['installed_software'] }]);
  });

  it('reassembles a set split into parts and applies it once complete', async () => {
    const { inv, send } = setup();
    const rows = demoRows(machine(2, { packages: 30 }));
    const whole = fullReport(1, { system_info: rows.system_info, installed_software: rows.installed_software }, NOW);
    const sw = whole.sets[1] as Exclude<InventoryReport['sets'][number], { mode: 'error' }>;
    const p1 = { ...sw, setId: 'big', part: 1, parts: 2, upserts: sw.upserts.slice(0, 10) };
    const p2 = { ...sw, setId: 'big', part: 2, parts: 2, upserts: sw.upserts.slice(10) };
    await send('ag_2', { ...whole, seq: 1, sets: [whole.sets[0]!, p1 as typeof sw] });
    expect((await inv.inventory('ag_2')).probes.map((p) => p.probe)).toEqual(['system_info']);
    await send('ag_2', { ...whole, seq: 2, sets: [p2 as typeof sw] });
    expect((await inv.inventory('ag_2', 'installed_software')).probes[0]!.rows).toHaveLength(30);
  });

  it('drops parts of sets that never complete, so staging cannot grow without bound', async () => {
    const { send, advance, staged } = setup();
    const rows = demoRows(machine(4, { packages: 4 }));
    const whole = fullReport(1, { system_info: rows.system_info, installed_software: rows.installed_software }, NOW);
    const sw = whole.sets[1] as DataSet;
    // Part 1 of 50 sets that will never see their part 2, from two agents.
    for (let i = 0; i < 50; i++)
      await send(i % 2 ? 'ag_4' : 'ag_5', {
        ...whole,
        seq: 1 + (i >> 1),
        sets: [{ ...sw, setId: `never-${i}`, part: 1, parts: 2 }],
      });
    expect(staged()).toBe(50);
    advance(61 * 60_000);
    // The next part ag_4 stages clears its own abandoned parts, and the periodic sweep everyone's.
    await send('ag_4', { ...whole, seq: 100, sets: [{ ...sw, setId: 'new', part: 1, parts: 2 }] });
    expect(staged()).toBe(1);
  });

  // Found by reading the paths test/security/protocol-fuzz drives: parts sharing a set id were merged whatever they
  // held, so an error part in the middle put `undefined` rows in the set (the sink threw, the whole stream batch
  // failed and the agent resent it forever), and a part of another probe was stored under the first part's probe.
  it.each([
    ['an error part in the middle', (_sw: DataSet, err: ErrorSet) => [{ ...err, part: 2 }]],
    ['a part of another probe', (sw: DataSet) => [{ ...sw, probe: 'licences', upserts: [], part: 2, parts: 3 }]],
    ['a part of another mode', (sw: DataSet) => [{ ...sw, mode: 'diff', part: 2, parts: 3 }]],
    ['a part counting other parts', (sw: DataSet) => [{ ...sw, part: 2, parts: 4 }]],
  ] as [string, (sw: DataSet, err: ErrorSet) => object[]][])(
    'drops a multi-part set with %s and asks for a full snapshot',
    async (_name, middle) => {
      const { inv, send, requests } = setup();
      const rows = demoRows(machine(3, { packages: 12 }));
      const whole = fullReport(1, { system_info: rows.system_info, installed_software: rows.installed_software }, NOW);
      await send('ag_3', { ...whole, seq: 1, sets: [whole.sets[0]!] });
      const sw = whole.sets[1] as DataSet;
      const err: ErrorSet = {
        probe: sw.probe,
        mode: 'error',
        setId: 'm',
        part: 1,
        parts: 3,
        collectedAt: sw.collectedAt,
        hash: sw.hash,
        code: 'E',
        message: 'probe failed',
      };
      const part = (n: number, upserts: object[]) => ({ ...sw, setId: 'm', part: n, parts: 3, upserts }) as DataSet;
      const sets = [part(1, sw.upserts.slice(0, 4)), ...middle(sw, err), part(3, sw.upserts.slice(8))].map(
        (p) => ({ ...p, setId: 'm' }) as DataSet,
      );
      for (const [i, set] of sets.entries()) await send('ag_3', { ...whole, seq: 2 + i, sets: [set] });
      expect((await inv.inventory('ag_3', 'installed_software')).probes).toEqual([]);
      expect((await inv.inventory('ag_3', 'system_info')).probes[0]!.rows).toEqual(rows.system_info);
      expect(requests.some((r) => r.agentId === 'ag_3' && r.probes.includes('installed_software'))).toBe(true);
    },
  );

  it('keeps hostile strings cleaned and bounded', async () => {
    const { inv, send } = setup();
    const rows = demoRows(
      machine(3, {
        software: [{ name: 'evil\u001b]0;pwned\u0007\u001b[31m<script>alert(1)</script>', version: '1\r\n2' }],
      }),
    );
    await send('ag_3', fullReport(1, rows, NOW));
    const entry = (await inv.inventory('ag_3', 'installed_software')).probes[0]!;
    // The answer is typed per probe: narrowing on `probe` gives the software rows' columns.
    if (entry.probe !== 'installed_software') throw new Error(`expected installed_software, got ${entry.probe}`);
    const names = entry.rows.map((r) => `${r.name} ${r.version}`);
    const evil = names.find((n) => n.startsWith('evil'))!;
    expect(evil).toBe('evil<script>alert(1)</script> 1 2');
    expect(evil).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('device identity', () => {
  it('recognises placeholder serials and UUIDs', () => {
    for (const s of ['Default string', 'To be filled by O.E.M.', '0000000000', 'System Serial Number', '', 'N/A'])
      expect(isBogusSerial(s), s).toBe(true);
    expect(isBogusSerial('5CG7123ABC')).toBe(false);
    for (const u of [
      '00000000-0000-0000-0000-000000000000',
      'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
      '03000200-0400-0500-0006-000700080009',
      'garbage',
    ])
      expect(isBogusUuid(u), u).toBe(true);
    expect(isBogusUuid('4c4c4544-0036-3010-8052-b4c04f384d32')).toBe(false);
  });

  it('maps a reinstalled agent and a renamed machine to the same device, with no spurious history', async () => {
    const { inv, send, advance, clock } = setup();
    await send('ag_old', fullReport(1, demoRows(machine(4)), clock.now()));
    const device = (await inv.deviceOfAgent('ag_old'))!.id;
    advance(DAY);
    // Reinstalled (new agent id) and renamed at the same time: same serial, UUID and NIC.
    await send('ag_new', fullReport(1, demoRows(machine(4, { hostname: 'accounting-4' })), clock.now()));
    expect((await inv.deviceOfAgent('ag_new'))!.id).toBe(device);
    expect((await inv.deviceOfAgent('ag_new'))!.hostname).toBe('accounting-4');
    expect((await inv.inventory('ag_new')).agents).toEqual(['ag_old', 'ag_new']);
    expect((await inv.history('ag_new', 0, clock.now())).filter((c) => c.probe === 'installed_software')).toHaveLength(
      0,
    );
  });

  it('never merges machines on placeholder serials or UUIDs', async () => {
    const { inv, send } = setup();
    const bogus = { serial: 'To be filled by O.E.M.', uuid: '03000200-0400-0500-0006-000700080009' };
    await send('ag_a', fullReport(1, demoRows(machine(5, { ...bogus, hostname: 'same-name' })), NOW));
    await send('ag_b', fullReport(1, demoRows(machine(6, { ...bogus, hostname: 'same-name' })), NOW));
    await send(
      'ag_c',
      fullReport(
        1,
        demoRows(
          machine(7, {
            serial: 'Default string',
            uuid: '00000000-0000-0000-0000-000000000000',
            mac: '00:1a:2b:3c:4d:05',
          }),
        ),
        NOW,
      ),
    );
    const ids = new Set(await Promise.all(['ag_a', 'ag_b', 'ag_c'].map(async (a) => (await inv.deviceOfAgent(a))!.id)));
    expect(ids.size).toBe(3);
  });

  it('splits cloned VMs that share a UUID once both keep reporting, and never matches that UUID again', async () => {
    const { inv, send, requests } = setup();
    const vm = (n: number, mac: string) =>
      machine(n, {
        serial: 'VMware-56 4d 11 22',
        uuid: '564d1122-3344-5566-7788-99aabbccddee',
        mac,
        hostname: 'web',
        manufacturer: 'VMware, Inc.',
      });
    // The clone keeps the name and (here, the worst case) the MAC: it first looks like a reinstall.
    await send('ag_vm1', fullReport(1, demoRows(vm(8, '00:50:56:00:00:01')), NOW));
    await send('ag_vm2', fullReport(1, demoRows(vm(8, '00:50:56:00:00:01')), NOW));
    expect((await inv.deviceOfAgent('ag_vm2'))!.id).toBe((await inv.deviceOfAgent('ag_vm1'))!.id);
    // The first VM is still alive: two machines.
    const rows = demoRows(vm(8, '00:50:56:00:00:01'));
    await send('ag_vm1', diff(2, 'users', rows.users, [], NOW + 1));
    expect((await inv.deviceOfAgent('ag_vm2'))!.id).not.toBe((await inv.deviceOfAgent('ag_vm1'))!.id);
    expect(requests.some((r) => r.agentId === 'ag_vm1')).toBe(true);
    expect((await inv.inventory('ag_vm2')).probes.length).toBeGreaterThan(5); // the clone kept its own rows
    // A third clone never merges on that UUID again.
    await send('ag_vm3', fullReport(1, demoRows(vm(8, '00:50:56:00:00:03')), NOW + 2));
    const devices = new Set(
      await Promise.all(['ag_vm1', 'ag_vm2', 'ag_vm3'].map(async (a) => (await inv.deviceOfAgent(a))!.id)),
    );
    expect(devices.size).toBe(3);
  });

  it('never matches a machine of another client', async () => {
    const { inv, send } = setup({ ag_x: 'cl_a', ag_y: 'cl_b' });
    await send('ag_x', fullReport(1, demoRows(machine(9)), NOW));
    await send('ag_y', fullReport(1, demoRows(machine(9)), NOW));
    expect((await inv.deviceOfAgent('ag_x'))!.id).not.toBe((await inv.deviceOfAgent('ag_y'))!.id);
  });
});

describe('fleet queries and the perimeter report', () => {
  it('answers the technician questions and the report figures match the store', async () => {
    const { inv, send, advance, clock } = setup();
    const fleet: [string, DemoMachine][] = [
      [
        'ag_f1',
        machine(1, {
          biosDate: '2015-01-10',
          software: [{ name: 'firefox-esr', version: '102.1' }],
          patches: [{ name: 'openssl', security: true, severity: 'Critical' }],
          antivirus: [{ product: 'Defender', enabled: true, expiresAt: NOW + 20 * DAY }],
        }),
      ],
      [
        'ag_f2',
        machine(2, {
          os: { family: 'windows', name: 'Windows 10 Pro', id: 'Professional', version: '22H2' },
          software: [{ name: 'firefox-esr', version: '115.3' }],
          antivirus: [{ product: 'Sophos', enabled: false, expiresAt: NOW + 75 * DAY }],
        }),
      ],
      [
        'ag_f3',
        machine(3, {
          os: { family: 'linux', name: 'Ubuntu', id: 'ubuntu', version: '24.04' },
          patches: [{ name: 'curl', security: false }],
        }),
      ],
      [
        'ag_f4',
        machine(4, {
          os: { family: 'windows', name: 'Windows 11 Pro', id: 'Professional', version: '24H2' },
          antivirus: [{ product: 'ESET', enabled: true, expiresAt: NOW + 45 * DAY }],
        }),
      ],
    ];
    for (const [agent, m] of fleet) await send(agent, fullReport(1, demoRows(m), clock.now()));
    advance(20 * DAY);
    const queries = new FleetQueries(inv, clock);
    const all = {};
    expect((await queries.software(all, 'FIREFOX', '115')).map((r) => r.hostname)).toEqual(['pc-1']);
    expect((await queries.patches(all, 14)).map((r) => r.hostname)).toEqual(['pc-1']);
    expect(await queries.patches(all, 30)).toHaveLength(0);
    expect((await queries.antivirus(all, 30)).map((r) => `${r.hostname} ${r.detail}`).sort()).toEqual([
      'pc-1 expiring',
      'pc-2 disabled',
      'pc-4 expiring',
    ]);
    expect((await queries.endOfLife(all)).map((r) => r.hostname)).toEqual([]);
    advance(150 * DAY); // past Windows 10's end of life (2025-10-14)
    expect((await queries.endOfLife(all)).map((r) => `${r.hostname} ${r.subject}`)).toEqual(['pc-2 Windows 10']);
    expect((await queries.olderThan(all, 5)).map((r) => r.hostname)).toEqual(['pc-1']);

    const report = await buildPerimeter(inv, { clientIds: ['cl_a'] }, 'Acme <HQ>', clock.now(), {
      obsoleteYears: 5,
      criticalPatchDays: 14,
    });
    // The route's closed response schema (its JSON allow-list) takes the whole report as built: nothing dropped.
    expect([...Value.Errors(PerimeterReportSchema, report)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
    expect(Value.Check(PerimeterReportSchema, { ...report, secret: 'x' })).toBe(false);
    const s = report.summary;
    expect(s.machines).toBe((await inv.devices({})).length);
    expect(s.endOfLifeOs).toBe((await queries.endOfLife(all)).length);
    expect(s.obsolete).toBe((await queries.olderThan(all, 5)).length);
    expect(s.withCriticalPatches).toBe(new Set((await queries.patches(all, 14)).map((r) => r.deviceId)).size);
    expect([s.avExpiring30, s.avExpiring60, s.avExpiring90]).toEqual([
      new Set((await queries.antivirus(all, 30)).filter((r) => r.time !== null).map((r) => r.deviceId)).size,
      new Set((await queries.antivirus(all, 60)).filter((r) => r.time !== null).map((r) => r.deviceId)).size,
      new Set((await queries.antivirus(all, 90)).filter((r) => r.time !== null).map((r) => r.deviceId)).size,
    ]);
    const html = renderPerimeterHtml(report);
    expect(html).toContain('<title>Acme &lt;HQ&gt;</title>');
    expect(html).toContain(`data-figure="Machines">${s.machines}<`);
    expect(html).not.toMatch(/<script/i);
    const csv = renderPerimeterCsv(report);
    expect(csv.trim().split('\r\n')).toHaveLength(1 + s.machines);
  });
});
