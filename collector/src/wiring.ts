/**
 * Adapters the composition root uses to hand one concern's public functions to another in the shape the receiving
 * concern's contract asks for (neither imports the other).
 */
import { randomBytes } from 'node:crypto';
import type { CollectorMessage, ProbeName } from '@outpost/shared';
import type { Agents } from './agents/index.js';
import type { Clock } from './config.js';
import type { InventoryFactsSnapshot, PresenceView } from './detection/index.js';
import type { Inventory } from './inventory/index.js';
import type { Tenants } from './tenants/index.js';

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

/** Where an agent sits (client and site) and its tags, for the concerns that file things per client. */
/** How long an `inventory.request` stays valid for the agent. */
const SNAPSHOT_REQUEST_TTL_MS = 600_000;

/** The inventory's way to ask a live agent for full snapshots: an `inventory.request` to it, if connected anywhere. */
export function snapshotRequester(send: (agentId: string, msg: CollectorMessage) => unknown, clock: Clock) {
  return (agentId: string, probes: ProbeName[]): void =>
    void send(agentId, {
      type: 'inventory.request',
      id: randomBytes(9).toString('base64url'),
      expiresAt: clock.now() + SNAPSHOT_REQUEST_TTL_MS,
      probes,
    });
}

export function placementOf(
  agents: Agents,
): (id: string) => Promise<{ clientId: string; siteId: string; tags: readonly string[] } | undefined> {
  return async (id) => {
    const a = await agents.get(id);
    return a && { clientId: a.clientId, siteId: a.siteId, tags: a.tags };
  };
}

/** What detection needs to title an incident: where a machine sits and what people call it (revoked: nothing). */
export function detectionPlaceOf(agents: Agents, tenants: Tenants): PresenceView['place'] {
  return async (id) => {
    const a = await agents.get(id);
    if (!a || a.revokedAt) return undefined;
    const hostname = (await agents.label(id)) ?? a.facts.hostname;
    return { clientId: a.clientId, siteId: a.siteId, hostname, timezone: (await tenants.site(a.siteId))?.timezone };
  };
}

/** Page size of the absence sweep's walk over every agent: bounded memory per query, one pass per sweep. */
const LAST_SEEN_PAGE = 1000;

/** Every agent's last contact and whether it is connected now, for the absence detector, read page by page. */
export function lastSeenOf(agents: Agents): PresenceView['lastSeen'] {
  return async () => {
    const out: { agentId: string; lastSeenAt: number | null; online: boolean }[] = [];
    for (let offset = 0; ; offset += LAST_SEEN_PAGE) {
      const page = await agents.list({ limit: LAST_SEEN_PAGE, offset });
      for (const a of page) out.push({ agentId: a.id, lastSeenAt: a.lastSeenAt, online: agents.isOnline(a.id) });
      if (page.length < LAST_SEEN_PAGE) return out;
    }
  };
}
