/**
 * Inventory rules on the real inventory (SQLite, its stream sink and history) and the real engine, with a fake clock:
 * a disk disappearing, memory shrinking, antivirus turned off, a licence near expiry, security updates pending too
 * long, an end-of-life OS, forbidden software; each opens one incident and clears when the inventory stops showing it.
 */
import type { ProbeName } from '@outpost/shared';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase, sqlOf } from '../db/index.js';
import { demoRows, fullReport } from '../inventory/demo-fleet.js';
import { Inventory, inventoryMigrations } from '../inventory/index.js';
import { inventoryFactsOf } from '../wiring.js';
import { DetectionEngine } from './engine.js';
import { MemoryIncidentSink } from './memory-sink.js';
import { PolicySet, parsePolicy } from './policy.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 5, 2, 10); // a Monday

function setup(policy = 'baseline: { enabled: false }') {
  const db = openDatabase(':memory:');
  migrate(db, inventoryMigrations);
  const clock = { t: T0, now: () => clock.t };
  const logger = pino({ level: 'silent' });
  const inventory = new Inventory({
    db: sqlOf(db),
    deps: { placement: async () => ({ clientId: 'cl_1', siteId: 'si_1' }), requestSnapshot: () => undefined },
    clock,
    logger,
  });
  const sink = new MemoryIncidentSink();
  const engine = new DetectionEngine({
    sink,
    presence: { place: async (id) => ({ clientId: 'cl_1', siteId: 'si_1', hostname: id }), lastSeen: async () => [] },
    policies: new PolicySet([parsePolicy(policy)]),
    clock,
    logger,
    options: {
      recentChanges: (a, f, t) => inventory.recentChanges(a, f, t),
      inventoryFacts: async (a) => inventoryFactsOf(inventory, a),
    },
  });
  let seq = 0;
  const report = async (agentId: string, rows: Partial<Record<ProbeName, Record<string, unknown>[]>>) => {
    await inventory.ingest([{ agentId, msg: fullReport(++seq, rows, clock.t) }], clock.t);
    await engine.evaluateInventory(agentId);
  };
  return { clock, sink, engine, inventory, report };
}

const machine = {
  hostname: 'pc-1',
  serial: 'SN0001X',
  uuid: '4c4c4544-0000-1000-8000-000000000001',
  mac: '00:1a:2b:3c:4d:01',
  software: [{ name: 'openssl', version: '3.0.1-1' }],
  patches: [{ name: 'openssl', security: true }],
  antivirus: [{ product: 'ClamAV', enabled: true, expiresAt: null }],
};

describe('inventory rules', () => {
  it('opens on a disk gone and memory shrunk, with the change time, and clears when the hardware is back', async () => {
    const ctx = setup();
    const rows = demoRows(machine);
    await ctx.report('ag_1', rows);
    expect(ctx.sink.open.size).toBe(0);

    ctx.clock.t += 3_600_000;
    const shrunk = { ...rows.memory[0]!, size_bytes: 8 * 1024 ** 3 };
    await ctx.report('ag_1', { ...rows, disks: rows.disks.filter((d) => d.kind !== 'disk'), memory: [shrunk] });
    const disk = ctx.sink.open.get('inventory:ag_1:disk_removed:sda')!;
    expect(disk).toMatchObject({ source: 'inventory', rule: 'inventory:disk_removed', failureTime: T0 + 3_600_000 });
    expect(disk.explanation).toContain('disk sda (512.0 GiB)');
    const mem = ctx.sink.open.get('inventory:ag_1:memory_shrank')!;
    expect(mem.explanation).toContain('from 16.0 GiB to 8.0 GiB');
    // What changed on the machine explains the incident too.
    expect(mem.explanation).toMatch(/hardware changed disk sda/);

    // Another report with nothing new: no second incident.
    ctx.clock.t += 3_600_000;
    await ctx.engine.evaluateInventory('ag_1');
    expect(ctx.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(2);

    ctx.clock.t += 3_600_000;
    await ctx.report('ag_1', rows);
    expect(ctx.sink.open.size).toBe(0);
    expect(ctx.sink.events.filter((e) => e.kind === 'clear')).toHaveLength(2);
  });

  it('antivirus off, licence expiring, old security updates, forbidden software; a restart does not re-raise', async () => {
    const ctx = setup(`baseline: { enabled: false }
inventory: { licenceDays: 30, patchDays: 14, forbiddenSoftware: ["teamviewer*"] }`);
    const rows = demoRows(machine);
    await ctx.report('ag_2', rows);
    expect(ctx.sink.open.size).toBe(0);

    ctx.clock.t += 15 * DAY; // the openssl security update has now been pending for 15 days
    const av = rows.licences.map((l) =>
      l.kind === 'antivirus' ? { ...l, enabled: false, expires_at: ctx.clock.t + 10 * DAY } : l,
    );
    const sw = [...rows.installed_software, { ...rows.installed_software[0]!, name: 'TeamViewer', version: '15.1' }];
    await ctx.report('ag_2', { ...rows, licences: av, installed_software: sw });
    const keys = [...ctx.sink.open.keys()].sort();
    expect(keys).toEqual([
      'inventory:ag_2:av_disabled:ClamAV',
      'inventory:ag_2:licence_expiring:ClamAV',
      'inventory:ag_2:security_patches_pending',
      'inventory:ag_2:software_forbidden:TeamViewer',
    ]);
    const patches = ctx.sink.open.get('inventory:ag_2:security_patches_pending')!;
    expect(patches.failureTime).toBe(T0 + 14 * DAY);
    expect(patches.explanation).toContain('the oldest openssl since 2025-06-02');
    expect(ctx.sink.open.get('inventory:ag_2:av_disabled:ClamAV')!.failureTime).toBe(ctx.clock.t);
    expect(ctx.sink.open.get('inventory:ag_2:licence_expiring:ClamAV')!.explanation).toContain('in 10 days');

    // After a collector restart (checkpoint restored) the same facts open nothing new.
    const restored = new DetectionEngine({
      sink: ctx.sink,
      presence: { place: async (id) => ({ clientId: 'cl_1', siteId: 'si_1', hostname: id }), lastSeen: async () => [] },
      policies: new PolicySet([
        parsePolicy('baseline: { enabled: false }\ninventory: { forbiddenSoftware: ["teamviewer*"] }'),
      ]),
      clock: ctx.clock,
      logger: pino({ level: 'silent' }),
      options: {
        recentChanges: (a, f, t) => ctx.inventory.recentChanges(a, f, t),
        inventoryFacts: async (a) => inventoryFactsOf(ctx.inventory, a),
      },
    });
    restored.restore(ctx.engine.snapshot());
    const raisesBefore = ctx.sink.events.filter((e) => e.kind === 'raise').length;
    await restored.evaluateInventory('ag_2');
    expect(ctx.sink.events.filter((e) => e.kind === 'raise')).toHaveLength(raisesBefore);

    // Antivirus back on and the package removed: those two clear.
    ctx.clock.t += DAY;
    await ctx.report('ag_2', {
      ...rows,
      licences: rows.licences.map((l) => ({ ...l, expires_at: ctx.clock.t + 10 * DAY })),
    });
    expect([...ctx.sink.open.keys()].sort()).toEqual([
      'inventory:ag_2:licence_expiring:ClamAV',
      'inventory:ag_2:security_patches_pending',
    ]);
  });

  it('a service set to start by itself that failed (or, on Windows, stopped) is down until it runs again', async () => {
    const ctx = setup('baseline: { enabled: false }\ninventory: { ignoreServices: ["gupdate*"] }');
    const rows = demoRows(machine);
    const svc = (name: string, state: string, start_mode: string, kind = 'systemd') => ({
      name,
      display_name: '',
      state,
      start_mode,
      kind,
      path: '',
    });
    const services = [
      svc('nginx.service', 'failed', 'enabled'),
      svc('oneshot.service', 'dead', 'enabled'), // a one-shot that did its job
      svc('cups.service', 'failed', 'disabled'),
      svc('Spooler', 'stopped', 'auto', 'windows'),
      svc('gupdate', 'stopped', 'auto', 'windows'), // ignored by the policy
      svc('MapsBroker', 'stopped', 'auto (delayed)', 'windows'), // stops itself by design
    ];
    await ctx.report('ag_6', { ...rows, services });
    expect([...ctx.sink.open.keys()].sort()).toEqual([
      'inventory:ag_6:service_down:Spooler',
      'inventory:ag_6:service_down:nginx.service',
    ]);
    expect(ctx.sink.open.get('inventory:ag_6:service_down:nginx.service')!.explanation).toContain(
      'nginx.service starts automatically (enabled) but is failed',
    );
    ctx.clock.t += 3_600_000;
    await ctx.report('ag_6', { ...rows, services: services.map((s) => ({ ...s, state: 'running' })) });
    expect(ctx.sink.open.size).toBe(0);
  });

  it('flags an end-of-life OS', async () => {
    const ctx = setup();
    await ctx.report(
      'ag_3',
      demoRows({ ...machine, os: { family: 'linux', name: 'Debian GNU/Linux', id: 'debian', version: '9' } }),
    );
    const eol = ctx.sink.open.get('inventory:ag_3:os_end_of_life')!;
    expect(eol.explanation).toMatch(/Debian GNU\/Linux 9 gets no security updates since 20\d\d-\d\d-\d\d/);
    expect(eol.failureTime).toBeLessThan(T0);
  });
});
