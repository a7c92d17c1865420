/**
 * Adapters the composition root uses to hand one concern's public functions to another in the shape the receiving
 * concern's contract asks for (neither imports the other).
 */
import type { InventoryFactsSnapshot } from './detection/index.js';
import type { Inventory } from './inventory/index.js';

/** What detection's inventory rules read, from the inventory's public functions (never its tables). */
export async function inventoryFactsOf(
  inventory: Inventory,
  agentId: string,
): Promise<InventoryFactsSnapshot | undefined> {
  const f = await inventory.facts(agentId);
  if (!f) return undefined;
  const memory = (await inventory.rows(f.deviceId, 'memory')).find((r) => r.data.kind === 'total')?.data.size_bytes;
  return {
    hostname: f.hostname,
    os: f.os && {
      name: f.os.name,
      version: f.os.version,
      endOfLife: f.eol.endOfLife,
      supportedUntil: f.eol.supportedUntil,
    },
    antivirus: f.antivirus.map((a) => ({
      product: a.product,
      enabled: a.enabled,
      upToDate: a.upToDate,
      expiresAt: a.expiresAt,
    })),
    osActivation: f.osActivation && {
      product: f.osActivation.product,
      state: f.osActivation.state,
      expiresAt: f.osActivation.expiresAt,
    },
    pendingPatches: f.pendingPatches.map((p) => ({
      name: p.name,
      security: p.security,
      severity: p.severity,
      firstSeen: p.firstSeen,
    })),
    software: f.software.map((s) => ({ name: s.name, version: s.version })),
    disks: (await inventory.rows(f.deviceId, 'disks'))
      .filter((r) => r.data.kind === 'disk')
      .map((r) => String(r.data.name)),
    memoryBytes: typeof memory === 'number' ? memory : null,
    services: (await inventory.rows(f.deviceId, 'services')).map((r) => ({
      name: String(r.data.name ?? ''),
      state: String(r.data.state ?? ''),
      startMode: String(r.data.start_mode ?? ''),
      kind: String(r.data.kind ?? ''),
    })),
  };
}
