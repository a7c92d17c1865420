/**
 * Applies `inventory.report` messages (the stream sink): stages multi-part sets, resolves the device of each agent,
 * applies full snapshots and diffs (a diff whose base is not the stored state is refused and a full snapshot
 * requested), writes typed history, and keeps every agent string cleaned. One transaction per stream batch;
 * idempotent by (agent, seq) through the per-agent `last_seq`.
 */
import { randomBytes } from 'node:crypto';
import {
  cleanRow,
  firstBadRow,
  type InventoryReport,
  type InventorySet,
  OutpostError,
  type ProbeName,
  rowKey,
  rowsHash,
  sanitizeText,
} from '@outpost/shared';
import type { Logger } from 'pino';
import { changesFor } from './history.js';
import { type IdentityFacts, matchDevice } from './identity.js';
import type { DeviceRecord, InventoryStore } from './store.js';

type Row = Record<string, unknown>;
type DataSet = Exclude<InventorySet, { mode: 'error' }>;

/** Where an agent belongs (from the agents concern). */
export interface AgentPlacement {
  clientId: string;
  siteId: string;
}

/** One report to apply. */
export interface ReportItem {
  agentId: string;
  msg: InventoryReport;
  placement: AgentPlacement;
}

/** Full snapshots to ask agents for after the batch commits. */
export type ResyncRequests = Map<string, Set<ProbeName>>;

const newDeviceId = () => `dv_${randomBytes(8).toString('hex')}`;

function factsFrom(sets: readonly InventorySet[]): IdentityFacts | undefined {
  const sys = sets.find((s): s is DataSet => s.probe === 'system_info' && s.mode === 'full');
  const row = sys?.upserts[0] as Row | undefined;
  if (!row) return undefined;
  const net = sets.find((s): s is DataSet => s.probe === 'network_interfaces' && s.mode === 'full');
  return {
    hostname: String(row.hostname ?? ''),
    manufacturer: String(row.manufacturer ?? ''),
    serial: String(row.serial ?? ''),
    hwUuid: String(row.hardware_uuid ?? '').toLowerCase(),
    machineId: String(row.machine_id ?? ''),
    virtual: row.virtual === true,
    macs: ((net?.upserts ?? []) as Row[]).filter((r) => r.virtual !== true).map((r) => String(r.mac ?? '')),
  };
}

/**
 * True when staged parts are the whole of one data set: parts 1..n of the same probe, mode, base and count as the
 * last part. Parts are only validated one by one, so an agent could otherwise merge an error part (no rows) or
 * another probe's rows into a set, which failed the whole stream batch or stored rows under the wrong probe.
 */
function isWholeSet(parts: InventorySet[], last: InventorySet): parts is DataSet[] {
  if (last.mode === 'error' || parts.length !== last.parts) return false;
  return parts.every(
    (p, i) =>
      p.part === i + 1 &&
      p.parts === last.parts &&
      p.probe === last.probe &&
      p.mode === last.mode &&
      p.baseHash === last.baseHash &&
      p.hash === last.hash,
  );
}

/**
 * The set itself when every row matches its probe's closed schema; otherwise the probe's error in its place, so the
 * set is refused whole (no row of it stored, the probe's previous rows kept, the error shown with them) while the
 * report's other sets and the agent's stream go on. Logged with the agent and the probe.
 */
export function checkRows(set: InventorySet, agentId: string, logger: Logger): InventorySet {
  if (set.mode === 'error') return set;
  const bad = firstBadRow(set.probe, set.upserts);
  if (!bad) return set;
  const err = new OutpostError('OUTPOST_E_INVENTORY_ROW', {
    message: `${set.probe} row ${bad.index} does not match its schema at ${bad.path}: ${bad.reason}`,
    details: { probe: set.probe, row: bad.index, path: bad.path },
  });
  logger.warn({ err, agentId, probe: set.probe, row: bad.index, path: bad.path }, 'inventory set refused');
  const { probe, setId, part, parts, collectedAt, hash } = set;
  return { probe, mode: 'error', setId, part, parts, collectedAt, hash, code: err.code, message: err.message };
}

/** Applies reports to the store. */
export class InventoryIngest {
  constructor(
    private readonly store: InventoryStore,
    private readonly logger: Logger,
  ) {}

  /** Applies a batch in one transaction; returns the full snapshots to request. */
  async apply(items: readonly ReportItem[], now: number): Promise<ResyncRequests> {
    const resync: ResyncRequests = new Map();
    const want = (agentId: string, probe?: ProbeName) => {
      const s = resync.get(agentId) ?? new Set<ProbeName>();
      if (probe) s.add(probe);
      resync.set(agentId, s);
    };
    await this.store.transaction(async (tx) => {
      for (const item of items) await this.#applyOne(tx, item, now, want);
    });
    return resync;
  }

  async #applyOne(
    tx: InventoryStore,
    { agentId, msg, placement }: ReportItem,
    now: number,
    want: (a: string, p?: ProbeName) => void,
  ): Promise<void> {
    const mapped = await tx.agentDevice(agentId);
    if (mapped && msg.seq <= mapped.lastSeq) return; // a resend of something already applied
    // Reassemble multi-part sets; a set is complete when its last part arrives (the stream keeps order).
    const complete: InventorySet[] = [];
    for (const set of msg.sets) {
      if (set.parts === 1) {
        complete.push(set);
        continue;
      }
      await tx.stage(agentId, set.setId, set.part, JSON.stringify(set), now);
      if (set.part < set.parts) continue;
      const parts = (await tx.staged(agentId, set.setId)).map((b) => JSON.parse(b) as InventorySet);
      await tx.unstage(agentId, set.setId);
      if (!isWholeSet(parts, set)) {
        want(agentId, set.probe);
        continue;
      }
      complete.push({
        ...parts[0],
        part: 1,
        parts: 1,
        upserts: parts.flatMap((p) => p.upserts),
        removes: parts.flatMap((p) => p.removes),
      } as InventorySet);
    }
    const checked = complete.map((set) => checkRows(set, agentId, this.logger));
    const device = await this.#device(tx, agentId, placement, checked, now, want);
    for (const set of checked) await this.#applySet(tx, device, agentId, set, now, want);
    device.lastReport = now;
    await this.#refreshIdentity(tx, device);
    await tx.updateDevice(device);
    await tx.setLastSeq(agentId, msg.seq);
  }

  /** The device of an agent: its mapping, a matching known machine, or a new device; splits clones. */
  async #device(
    tx: InventoryStore,
    agentId: string,
    placement: AgentPlacement,
    sets: InventorySet[],
    now: number,
    want: (a: string, p?: ProbeName) => void,
  ): Promise<DeviceRecord> {
    const mapped = await tx.agentDevice(agentId);
    if (mapped) {
      const d = (await tx.device(mapped.deviceId))!;
      if (d.currentAgentId === agentId) return { ...d, clientId: placement.clientId, siteId: placement.siteId };
      // This agent was superseded by another one that matched the same machine, yet it still reports: the two are
      // different machines sharing identifiers (a cloned VM). Give the newer agent its own device, take this one back.
      const other = d.currentAgentId;
      const split: DeviceRecord = { ...d, id: newDeviceId(), currentAgentId: other, firstSeen: now };
      await tx.insertDevice(split);
      await tx.moveAgentData(other, d.id, split.id);
      await tx.mapAgent(other, split.id, now);
      if (d.serial) await tx.noteShared('serial', d.serial, now);
      if (d.hwUuid) await tx.noteShared('uuid', d.hwUuid, now);
      this.logger.warn(
        { agentId, other, deviceId: d.id, split: split.id },
        'two live agents share hardware identifiers; devices split',
      );
      want(agentId);
      return { ...d, currentAgentId: agentId, clientId: placement.clientId, siteId: placement.siteId };
    }
    const facts = factsFrom(sets);
    if (facts) {
      const candidates = await tx.candidates(facts.serial, facts.hwUuid);
      // matchDevice asks about these two identifiers only: looked up first, as it is a pure function.
      const shared = {
        serial: await tx.isShared('serial', facts.serial),
        uuid: await tx.isShared('uuid', facts.hwUuid.toLowerCase()),
      };
      const match = matchDevice(facts, placement.clientId, candidates, (k) => shared[k]);
      if (match) {
        const d = (await tx.device(match.id))!;
        await tx.mapAgent(agentId, d.id, now);
        this.logger.info(
          { agentId, deviceId: d.id, previousAgent: d.currentAgentId },
          'agent mapped to a known device',
        );
        return { ...d, currentAgentId: agentId, clientId: placement.clientId, siteId: placement.siteId };
      }
    } else {
      want(agentId); // a first report without system_info: ask for everything to identify the machine
    }
    const d: DeviceRecord = {
      id: newDeviceId(),
      clientId: placement.clientId,
      siteId: placement.siteId,
      currentAgentId: agentId,
      hostname: '',
      manufacturer: '',
      model: '',
      serial: '',
      hwUuid: '',
      machineId: '',
      macs: [],
      virtual: false,
      biosDate: '',
      firstSeen: now,
      lastReport: now,
    };
    await tx.insertDevice(d);
    await tx.mapAgent(agentId, d.id, now);
    return d;
  }

  async #applySet(
    tx: InventoryStore,
    device: DeviceRecord,
    agentId: string,
    set: InventorySet,
    now: number,
    want: (a: string, p?: ProbeName) => void,
  ): Promise<void> {
    const probe = set.probe;
    const status = await tx.probe(device.id, probe);
    if (set.mode === 'error') {
      await tx.setProbe(device.id, {
        probe,
        hash: status?.hash ?? '',
        collectedAt: set.collectedAt,
        updatedAt: now,
        stale: status?.stale ?? false,
        errorCode: sanitizeText(set.code, 64),
        errorMessage: sanitizeText(set.message, 1024),
      });
      return;
    }
    if (set.mode === 'diff' && (!status || status.stale || status.hash !== set.baseHash)) {
      // The agent diffed against a state this collector does not have (lost message, restored database): resync.
      if (status) await tx.setProbe(device.id, { ...status, stale: true, updatedAt: now });
      want(agentId, probe);
      return;
    }
    const stored = await tx.rows(device.id, probe);
    const before = new Map(stored.map((r) => [r.key, r.data]));
    const after = set.mode === 'full' ? new Map<string, Row>() : new Map(before);
    for (const k of set.removes) after.delete(k);
    for (const raw of set.upserts) {
      const r = cleanRow(probe, raw as Row);
      after.set(rowKey(probe, r), r);
    }
    const hash = rowsHash(probe, [...after.values()]);
    const stale = hash !== set.hash;
    if (stale) want(agentId, probe);
    const beforeJson = new Map(stored.map((r) => [r.key, JSON.stringify(r.data)]));
    const gone = [...before.keys()].filter((k) => !after.has(k));
    const changed: { key: string; data: string }[] = [];
    for (const [k, r] of after) {
      const json = JSON.stringify(r);
      if (beforeJson.get(k) !== json) changed.push({ key: k, data: json });
    }
    // One call per set, not per row: a round trip each for a PostgreSQL store, an await each here.
    if (gone.length) await tx.deleteRows(device.id, probe, gone);
    if (changed.length) await tx.upsertRows(device.id, probe, changed, now);
    if (status) {
      const changes = changesFor(probe, before, after);
      if (changes.length) await tx.insertChanges(device.id, agentId, set.collectedAt, changes);
    }
    await tx.setProbe(device.id, {
      probe,
      hash,
      collectedAt: set.collectedAt,
      updatedAt: now,
      stale,
      errorCode: null,
      errorMessage: null,
    });
  }

  async #refreshIdentity(tx: InventoryStore, d: DeviceRecord): Promise<void> {
    const sys = (await tx.rows(d.id, 'system_info'))[0]?.data;
    if (sys) {
      d.hostname = String(sys.hostname ?? '');
      d.manufacturer = String(sys.manufacturer ?? '');
      d.model = String(sys.model ?? '');
      d.serial = String(sys.serial ?? '');
      d.hwUuid = String(sys.hardware_uuid ?? '').toLowerCase();
      d.machineId = String(sys.machine_id ?? '');
      d.virtual = sys.virtual === true;
      d.biosDate = String(sys.bios_date ?? '');
    }
    const nics = await tx.rows(d.id, 'network_interfaces');
    if (nics.length)
      d.macs = nics
        .filter((r) => r.data.virtual !== true)
        .map((r) => String(r.data.mac ?? ''))
        .filter(Boolean);
  }
}
