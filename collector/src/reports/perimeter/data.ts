/**
 * The figures of the perimeter documentation report, computed from the inventory concern's public functions:
 * a summary (machines, obsolete machines, EOL OS, pending critical patches, AV licences expiring within 30/60/90
 * days) and one section per machine.
 */
import { hardwareAgeYears, type Inventory, type Scope } from '../../inventory/index.js';
import type { MachineSection, PerimeterReport } from './schema.js';

const DAY = 86_400_000;

/** Report options. */
export interface PerimeterOptions {
  /** A machine at least this old (years) is obsolete. */
  obsoleteYears: number;
  /** A pending security patch older than this many days counts as critical when no severity is given. */
  criticalPatchDays: number;
}

export type { MachineSection, PerimeterReport } from './schema.js';

/** Builds the report figures for a scope. */
export async function buildPerimeter(
  inventory: Inventory,
  scope: Scope,
  title: string,
  now: number,
  o: PerimeterOptions,
): Promise<PerimeterReport> {
  const machines: MachineSection[] = [];
  for (const d of await inventory.devices(scope)) {
    const facts = await inventory.facts(d.currentAgentId);
    if (!facts) continue;
    machines.push(await machineSection(inventory, d, facts, now, o));
  }
  machines.sort((a, b) => a.hostname.localeCompare(b.hostname));
  const expiring = (days: number) =>
    machines.filter((m) => m.antivirus.some((a) => a.expiresAt !== null && a.expiresAt <= now + days * DAY)).length;
  return {
    title,
    generatedAt: now,
    summary: {
      machines: machines.length,
      obsolete: machines.filter((m) => m.obsolete).length,
      endOfLifeOs: machines.filter((m) => m.osEndOfLife).length,
      withCriticalPatches: machines.filter((m) => m.criticalPatches.length > 0).length,
      avExpiring30: expiring(30),
      avExpiring60: expiring(60),
      avExpiring90: expiring(90),
      avDisabled: machines.filter((m) => m.antivirus.some((a) => a.enabled === false)).length,
    },
    machines,
  };
}

/** One inventory device, as the report shows it. */
type Device = Awaited<ReturnType<Inventory['devices']>>[number];
/** What the agent last reported of a device. */
type Facts = NonNullable<Awaited<ReturnType<Inventory['facts']>>>;

/** One machine's section: hardware and its age, OS and its support, storage, patches, antivirus, software. */
async function machineSection(
  inventory: Inventory,
  d: Device,
  facts: Facts,
  now: number,
  o: PerimeterOptions,
): Promise<MachineSection> {
  const rows = async (p: Parameters<Inventory['rows']>[1]) => (await inventory.rows(d.id, p)).map((r) => r.data);
  const cpu = (await rows('cpu'))[0];
  const mem = (await rows('memory')).find((m) => m.kind === 'total');
  const disks = await rows('disks');
  const age = hardwareAgeYears(d, now);
  const critical = facts.pendingPatches.filter(
    (p) => /critical/i.test(p.severity) || (p.security && p.ageDays >= o.criticalPatchDays),
  );
  const os = (await rows('os_version'))[0];
  const act = facts.osActivation;
  return {
    deviceId: d.id,
    agentId: d.currentAgentId,
    siteId: d.siteId,
    hostname: d.hostname,
    manufacturer: d.manufacturer,
    model: d.model,
    serial: d.serial,
    biosDate: d.biosDate,
    ageYears: age,
    obsolete: age !== null && age >= o.obsoleteYears,
    os: os ? `${String(os.name)} ${String(os.version)}`.trim() : '',
    osSupportedUntil: facts.eol.supportedUntil,
    osEndOfLife: facts.eol.endOfLife,
    cpu: cpu
      ? `${String(cpu.model)} (${String(cpu.physical_cores)} cores / ${String(cpu.logical_processors)} threads)`
      : '',
    memoryBytes: typeof mem?.size_bytes === 'number' ? mem.size_bytes : null,
    ...storage(disks),
    pendingPatches: facts.pendingPatches.length,
    pendingSecurity: facts.pendingPatches.filter((p) => p.security).length,
    criticalPatches: critical.map((p) => ({ name: p.name, detail: p.kb || p.severity, ageDays: p.ageDays })),
    rebootRequired: facts.rebootRequired,
    antivirus: facts.antivirus.map((a) => ({
      product: a.product,
      enabled: a.enabled,
      upToDate: a.upToDate,
      expiresAt: a.expiresAt,
    })),
    activation: act ? `${act.state}${act.channel ? ` (${act.channel})` : ''}` : '',
    softwareCount: facts.software.length,
    software: facts.software
      .map((s) => ({ name: s.name, version: s.version, publisher: s.publisher }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** A machine's disks and volumes, from its `disks` inventory rows. */
function storage(disks: Record<string, unknown>[]): Pick<MachineSection, 'disks' | 'volumes'> {
  return {
    disks: disks
      .filter((x) => x.kind === 'disk')
      .map((x) => ({
        name: String(x.name),
        model: String(x.model),
        sizeBytes: Number(x.size_bytes),
        type: String(x.type),
        health: String(x.smart_health),
      })),
    volumes: disks
      .filter((x) => x.kind === 'volume')
      .map((x) => ({
        mount: String(x.mount),
        filesystem: String(x.filesystem),
        sizeBytes: Number(x.size_bytes),
        freeBytes: typeof x.free_bytes === 'number' ? x.free_bytes : null,
      })),
  };
}
