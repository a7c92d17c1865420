/**
 * Whose a checkpoint key is (state-codec.ts writes them): `agentId|metric` (a series), `rule|agentId|metric|op`,
 * `check|agentId|checkId`, `inv|inventory:agentId:finding` belong to that agent; `absent|agentId` is fleet-wide (the
 * absence sweep, on one node, decides it), so it has none. Migration 0252 backfills the same rule in SQL.
 */

/** The agent a key belongs to, or null for a fleet-wide key. */
export function agentOfKey(key: string): string | null {
  if (key.startsWith('absent|')) return null;
  if (key.startsWith('rule|') || key.startsWith('check|')) {
    const from = key.indexOf('|') + 1;
    const to = key.indexOf('|', from);
    return key.slice(from, to < 0 ? undefined : to);
  }
  if (key.startsWith('inv|inventory:')) {
    const from = 'inv|inventory:'.length;
    const to = key.indexOf(':', from);
    return key.slice(from, to < 0 ? undefined : to);
  }
  const to = key.indexOf('|');
  return key.slice(0, to < 0 ? undefined : to);
}

/** Whether a key is fleet-wide (no agent holds it). */
export const isFleetKey = (key: string): boolean => key.startsWith('absent|');
