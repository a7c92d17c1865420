/**
 * What the agent last reported per probe (hashes only), kept in the state directory so a restart sends only what
 * changed. Written atomically after the report is in the durable outbox; keyed by agent id, so a re-enrollment
 * (a new agent id) starts with a full snapshot.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ProbeState } from './diff.js';

/** The persisted inventory state. */
export interface InventoryStateFile {
  version: 1;
  agentId: string;
  probes: Record<string, ProbeState>;
}

/** Loads the state, or an empty one when absent, unreadable or of another agent. */
export function loadInventoryState(stateDir: string, agentId: string, logger: Logger): InventoryStateFile {
  const empty: InventoryStateFile = { version: 1, agentId, probes: {} };
  let text: string;
  try {
    text = readFileSync(join(stateDir, 'inventory-state.json'), 'utf8');
  } catch {
    // First run on this machine (or state wiped): the first report is a full snapshot.
    return empty;
  }
  try {
    const parsed = JSON.parse(text) as InventoryStateFile;
    if (parsed.version !== 1 || parsed.agentId !== agentId || typeof parsed.probes !== 'object') return empty;
    return parsed;
  } catch (err) {
    logger.warn({ err }, 'inventory state unreadable; sending full snapshots');
    return empty;
  }
}

/** Writes the state atomically. */
export function saveInventoryState(stateDir: string, state: InventoryStateFile): void {
  const file = join(stateDir, 'inventory-state.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
