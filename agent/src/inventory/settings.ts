/**
 * Whether the inventory runs and how often, from the agent configuration (`inventory.enabled`,
 * `inventory.intervalMs`) and the environment (`OUTPOST_INVENTORY`, `OUTPOST_INVENTORY_INTERVAL_MS`), which wins so
 * a service unit or a test can switch it without editing the file.
 */
import { OutpostError } from '@outpost/shared';
import type { AgentConfig } from '../config/index.js';

/** The effective inventory settings. */
export interface InventorySettings {
  enabled: boolean;
  /** Every probe's base interval; undefined: each probe's own. */
  intervalMs: number | undefined;
  /** Environment values that were ignored because they were not valid (logged by the caller). */
  ignored: OutpostError[];
}

const ON = new Set(['1', 'on', 'true', 'yes']);
const OFF = new Set(['0', 'off', 'false', 'no']);
/** The smallest interval the environment may set (tests run probes every few hundred ms). */
const MIN_ENV_INTERVAL_MS = 100;

/** Resolves the settings; a bad environment value is ignored (and reported in `ignored`), never fatal. */
export function inventorySettings(
  config: Pick<AgentConfig, 'inventory'>,
  env: NodeJS.ProcessEnv = process.env,
): InventorySettings {
  const ignored: OutpostError[] = [];
  let enabled = config.inventory?.enabled ?? true;
  let intervalMs = config.inventory?.intervalMs;
  const sw = env.OUTPOST_INVENTORY?.trim().toLowerCase();
  if (sw) {
    if (ON.has(sw)) enabled = true;
    else if (OFF.has(sw)) enabled = false;
    else
      ignored.push(
        new OutpostError('OUTPOST_E_CONFIG_INVALID', {
          message: `OUTPOST_INVENTORY must be on or off (1/0, true/false), not "${sw.slice(0, 32)}"; ignored`,
          details: { variable: 'OUTPOST_INVENTORY' },
        }),
      );
  }
  const iv = env.OUTPOST_INVENTORY_INTERVAL_MS?.trim();
  if (iv) {
    const n = Number(iv);
    if (Number.isInteger(n) && n >= MIN_ENV_INTERVAL_MS && n <= 7 * 24 * 3_600_000) intervalMs = n;
    else
      ignored.push(
        new OutpostError('OUTPOST_E_CONFIG_INVALID', {
          message: `OUTPOST_INVENTORY_INTERVAL_MS must be an integer from ${MIN_ENV_INTERVAL_MS} to 604800000, not "${iv.slice(0, 32)}"; ignored`,
          details: { variable: 'OUTPOST_INVENTORY_INTERVAL_MS' },
        }),
      );
  }
  return { enabled, intervalMs, ignored };
}
