/**
 * Detection's ports: what it needs from other concerns, as interfaces it defines and the composition root wires
 * (docs/0003-detection.md). Detection never reads another concern's tables.
 */
import type { TopProcess } from '@outpost/shared';

/** Where a machine belongs. */
export interface AgentPlace {
  clientId: string;
  siteId: string;
  hostname?: string;
  /** The site's IANA time zone: maintenance windows are read on its wall clock (UTC when absent). */
  timezone?: string;
}

/** Presence as detection sees it: every enrolled, non-revoked agent with its last-seen time. */
export interface PresenceView {
  place(agentId: string): Promise<AgentPlace | undefined>;
  /** Enrolled agents with their last-seen time (epoch ms, null if never seen) and whether a socket is live now. */
  lastSeen(): Promise<{ agentId: string; lastSeenAt: number | null; online: boolean }[]>;
}

/** One change on a machine from the inventory history (software installed, patch applied, service changed…). */
export interface MachineChange {
  time: number;
  /** Plain words, e.g. `installed Foo 1.2`, `service nginx stopped`. */
  summary: string;
  /** The inventory's change kind (`hardware_changed`, `av_state_changed`…), subject and values, when known. */
  kind?: string;
  subject?: string;
  before?: unknown;
  after?: unknown;
}

/** The inventory's change history, injected: what changed on `agentId` between `fromMs` and `toMs`. */
export type RecentChanges = (agentId: string, fromMs: number, toMs: number) => Promise<MachineChange[]>;

/** The inventory facts inventory rules read (null or empty where the machine does not say). */
export interface InventoryFactsSnapshot {
  hostname: string;
  os: { name: string; version: string; endOfLife: boolean; supportedUntil: number | null } | null;
  antivirus: { product: string; enabled: boolean | null; upToDate: boolean | null; expiresAt: number | null }[];
  osActivation: { product: string; state: string; expiresAt: number | null } | null;
  pendingPatches: { name: string; security: boolean; severity: string; firstSeen: number }[];
  software: { name: string; version: string }[];
  /** Names of the physical disks present now. */
  disks: string[];
  /** Installed memory in bytes (the OS view), null when unknown. */
  memoryBytes: number | null;
  /** Services with their state and start mode as the probe reports them (absent: not reported yet). */
  services?: { name: string; state: string; startMode: string; kind: string }[];
}

/** Inventory facts per agent, injected by the composition root (undefined before the machine's first inventory). */
export type InventoryFactsOf = (agentId: string) => Promise<InventoryFactsSnapshot | undefined>;

/** One sample as the engine reads it. */
export interface EngineSample {
  time: number;
  values: Record<string, number>;
  top?: TopProcess[] | undefined;
}

/** Keys to write to the checkpoint: each upsert with its agent (null: a fleet-wide key), and keys to delete. */
export interface CheckpointChanges {
  upserts: { key: string; agentId: string | null; state: Uint8Array }[];
  deletes: string[];
}

/** Where the engine keeps its checkpoint (series state and open keys), per key. */
export interface DetectionStateStore {
  load(): Promise<Map<string, Uint8Array>>;
  loadAgent(agentId: string): Promise<Map<string, Uint8Array>>;
  loadFleet(): Promise<Map<string, Uint8Array>>;
  write(changes: CheckpointChanges): Promise<void>;
}
