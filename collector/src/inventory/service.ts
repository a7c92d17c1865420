/**
 * The inventory concern's logic: the stream sink, one device's inventory and history, and the facts other concerns
 * (detection, reports) read. No fastify here. Fleet queries live in queries.ts.
 */
import { type InventoryReport, OutpostError, PROBE_NAMES, type ProbeName, storedRow } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import type { ProbeEntry } from './answers.js';
import { type EolStatus, eolStatus } from './eol.js';
import { type AgentPlacement, InventoryIngest } from './ingest.js';
import { type ChangeRecord, type DeviceRecord, InventoryStore, type StoredRow } from './store.js';

const DAY = 86_400_000;

/** What the service needs from outside: where an agent belongs, and a way to ask a live agent for snapshots. */
export interface InventoryDeps {
  placement(agentId: string): Promise<AgentPlacement | undefined>;
  requestSnapshot(agentId: string, probes: ProbeName[]): void;
}

/** One device's current inventory. */
export interface DeviceInventory {
  device: DeviceRecord;
  agents: string[];
  probes: ProbeEntry[];
  eol: EolStatus;
}

/** The inventory facts detection rules read for one agent. */
export interface InventoryFacts {
  agentId: string;
  deviceId: string;
  hostname: string;
  os: { name: string; version: string; family: string } | null;
  eol: EolStatus;
  antivirus: {
    product: string;
    enabled: boolean | null;
    upToDate: boolean | null;
    definitionsDate: number | null;
    expiresAt: number | null;
  }[];
  osActivation: { product: string; state: string; channel: string; expiresAt: number | null } | null;
  pendingPatches: {
    name: string;
    security: boolean;
    severity: string;
    kb: string;
    firstSeen: number;
    ageDays: number;
  }[];
  rebootRequired: boolean;
  software: { name: string; version: string; publisher: string; source: string }[];
  /** Hardware age in years from the BIOS date (or first seen), null when unknown. */
  hardwareAgeYears: number | null;
}

/** A change in plain words: `software_upgraded openssl 3.0.1 -> 3.0.2`. */
export function summarizeChange(c: ChangeRecord): string {
  const v = (x: unknown, k: string) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined);
  const ver = (x: unknown) => String(v(x, 'version') ?? v(x, 'candidate_version') ?? v(x, 'state') ?? '');
  const from = c.before === null ? '' : ver(c.before);
  const to = c.after === null ? '' : ver(c.after);
  return `${c.kind.replaceAll('_', ' ')} ${c.subject}${from || to ? ` ${[from, to].filter(Boolean).join(' -> ')}` : ''}`.slice(
    0,
    300,
  );
}

/** Years between a BIOS date (or first seen) and now. */
export function hardwareAgeYears(d: DeviceRecord, now: number): number | null {
  const t = d.biosDate ? Date.parse(`${d.biosDate}T00:00:00Z`) : d.firstSeen;
  return Number.isFinite(t) ? Math.max(0, (now - t) / (365.25 * DAY)) : null;
}

/** What Inventory is built from (one options object, not positional arguments). */
export interface InventoryInit {
  db: SqlDb;
  deps: InventoryDeps;
  clock: Clock;
  logger: Logger;
}

/** The inventory service. */
export class Inventory {
  readonly store: InventoryStore;
  readonly #ingest: InventoryIngest;
  /** Counters the metrics endpoint and the bench read. */
  readonly counters = { reports: 0, resyncRequests: 0 };

  private readonly deps: InventoryDeps;
  private readonly clock: Clock;
  private readonly logger: Logger;
  constructor(init: InventoryInit) {
    const { db, deps, clock, logger } = init;
    this.deps = deps;
    this.clock = clock;
    this.logger = logger;
    this.store = new InventoryStore(db);
    this.#ingest = new InventoryIngest(this.store, logger);
  }

  /** The stream sink for `inventory.report`: durable when its batch commits, idempotent by (agent, seq). */
  async ingest(items: { agentId: string; msg: InventoryReport }[], now: number): Promise<void> {
    const placements = new Map<string, AgentPlacement>();
    for (const { agentId } of items) {
      if (placements.has(agentId)) continue;
      const p = await this.deps.placement(agentId);
      // An agent deleted between its message and this batch: keep the data under an unknown placement, never drop it.
      placements.set(agentId, p ?? { clientId: '?', siteId: '?' });
    }
    const resync = await this.#ingest.apply(
      items.map((i) => ({ ...i, placement: placements.get(i.agentId)! })),
      now,
    );
    this.counters.reports += items.length;
    if (!resync.size) return;
    // Asking agents for snapshots is a reaction to the stored report: sent once the stream batch commits (at once
    // outside one), never for a batch that rolls back.
    await this.store.db.afterCommit(() => {
      for (const [agentId, probes] of resync) {
        this.counters.resyncRequests++;
        this.logger.info({ agentId, probes: [...probes] }, 'requesting inventory snapshot');
        this.deps.requestSnapshot(agentId, [...probes]);
      }
    });
  }

  /** The device an agent reports for, or undefined before its first inventory. */
  async deviceOfAgent(agentId: string): Promise<DeviceRecord | undefined> {
    const m = await this.store.agentDevice(agentId);
    return m && this.store.device(m.deviceId);
  }

  /** All devices visible in a scope. */
  async devices(filter: {
    clientIds?: readonly string[] | undefined;
    siteId?: string | undefined;
  }): Promise<DeviceRecord[]> {
    return this.store.devices(filter);
  }

  /** Current rows of one probe on a device. */
  async rows(deviceId: string, probe: ProbeName): Promise<StoredRow[]> {
    return this.store.rows(deviceId, probe);
  }

  /** One agent's device inventory (optionally one probe); OUTPOST_E_NOT_FOUND before its first report. */
  async inventory(agentId: string, probe?: ProbeName): Promise<DeviceInventory> {
    const device = await this.deviceOfAgent(agentId);
    if (!device) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No inventory yet for agent ${agentId}` });
    const statuses = (await this.store.probes(device.id)).filter((p) => !probe || p.probe === probe);
    const probes: DeviceInventory['probes'] = [];
    for (const s of statuses) {
      const rows = (await this.store.rows(device.id, s.probe)).map((r) => storedRow(s.probe, r.data));
      // Stored rows passed their probe's closed schema at ingest (`checkRows`; before it, the edge decoder); projected
      // on the current columns, a row stored by an older collector only lacks the columns added since: what the
      // entry's optional columns state. The union's members differ by `probe` only, hence the cast.
      probes.push({ ...s, rows } as ProbeEntry);
    }
    return { device, agents: await this.store.agentsOfDevice(device.id), probes, eol: await this.eolOf(device.id) };
  }

  /** End-of-life status of a device's OS. */
  async eolOf(deviceId: string): Promise<EolStatus> {
    const os = (await this.store.rows(deviceId, 'os_version'))[0]?.data;
    return eolStatus(
      {
        family: String(os?.family ?? ''),
        id: String(os?.id ?? ''),
        name: String(os?.name ?? ''),
        version: String(os?.version ?? ''),
      },
      this.clock.now(),
    );
  }

  /** Change history of an agent's device between two times (newest first). */
  async history(agentId: string, fromMs: number, toMs: number, limit = 1000): Promise<ChangeRecord[]> {
    const device = await this.deviceOfAgent(agentId);
    if (!device) return [];
    return this.store.changes({ deviceId: device.id, fromMs, toMs, limit });
  }

  /**
   * For detection: the inventory changes of an agent's machine in a time window, each with a plain-words `summary`
   * (fits detection's `RecentChanges` contract: explains an incident).
   */
  async recentChanges(agentId: string, fromMs: number, toMs: number): Promise<(ChangeRecord & { summary: string })[]> {
    return (await this.history(agentId, fromMs, toMs, 10_000)).map((c) => ({ ...c, summary: summarizeChange(c) }));
  }

  /** For detection rules: AV state, activation, pending patches with age, EOL status, software list. */
  async facts(agentId: string): Promise<InventoryFacts | undefined> {
    const device = await this.deviceOfAgent(agentId);
    if (!device) return undefined;
    const now = this.clock.now();
    const os = (await this.store.rows(device.id, 'os_version'))[0]?.data;
    const lic = (await this.store.rows(device.id, 'licences')).map((r) => r.data);
    const patches = await this.store.rows(device.id, 'pending_patches');
    const software = await this.store.rows(device.id, 'installed_software');
    const act = lic.find((l) => l.kind === 'os_activation');
    const num = (v: unknown) => (typeof v === 'number' ? v : null);
    return {
      agentId,
      deviceId: device.id,
      hostname: device.hostname,
      os: os ? { name: String(os.name), version: String(os.version), family: String(os.family) } : null,
      eol: await this.eolOf(device.id),
      antivirus: lic
        .filter((l) => l.kind === 'antivirus')
        .map((l) => ({
          product: String(l.product),
          enabled: typeof l.enabled === 'boolean' ? l.enabled : null,
          upToDate: typeof l.up_to_date === 'boolean' ? l.up_to_date : null,
          definitionsDate: num(l.definitions_date),
          expiresAt: num(l.expires_at),
        })),
      osActivation: act
        ? {
            product: String(act.product),
            state: String(act.state),
            channel: String(act.channel),
            expiresAt: num(act.expires_at),
          }
        : null,
      pendingPatches: patches
        .filter((p) => p.data.kind === 'update')
        .map((p) => ({
          name: String(p.data.name),
          security: p.data.security === true,
          severity: String(p.data.severity ?? ''),
          kb: String(p.data.kb ?? ''),
          firstSeen: p.firstSeen,
          ageDays: Math.floor((now - p.firstSeen) / DAY),
        })),
      rebootRequired: patches.some((p) => p.data.kind === 'reboot_required'),
      software: software.map((r) => ({
        name: String(r.data.name),
        version: String(r.data.version),
        publisher: String(r.data.publisher),
        source: String(r.data.source),
      })),
      hardwareAgeYears: hardwareAgeYears(device, now),
    };
  }

  /** Asks a live agent for full snapshots (a technician's refresh). */
  refresh(agentId: string, probes: ProbeName[] = []): void {
    this.deps.requestSnapshot(agentId, probes.length ? probes : []);
  }
}

/** Every probe name (for route schemas). */
export const INVENTORY_PROBES = PROBE_NAMES;
