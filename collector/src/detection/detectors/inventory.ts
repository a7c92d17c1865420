/**
 * Inventory rules on one machine (after each inventory report, and in the hourly sweep): findings that appeared open
 * an incident, findings that went away clear theirs. The rules themselves are pure (../inventory-rules.ts).
 */
import { inventoryFindings } from '../inventory-rules.js';
import type { Policy } from '../policy.js';
import type { AgentPlace, InventoryFactsOf, RecentChanges } from '../ports.js';
import type { DetectorContext } from './context.js';

/** Where the inventory rules read a machine's facts and changes. */
export interface InventorySources {
  facts: InventoryFactsOf;
  recentChanges?: RecentChanges | undefined;
}

/** Evaluates the inventory rules on one machine. */
export async function detectInventory(
  ctx: DetectorContext,
  src: InventorySources,
  agentId: string,
  place: AgentPlace,
  policy: Policy,
): Promise<void> {
  const now = ctx.clock.now();
  const prefix = `inventory:${agentId}:`;
  const facts = policy.inventory.enabled ? await src.facts(agentId) : undefined;
  const changes =
    facts && src.recentChanges
      ? await src.recentChanges(agentId, now - policy.inventory.hardwareWindowDays * 86_400_000, now)
      : [];
  const found = facts ? inventoryFindings(facts, changes, policy, now) : [];
  const current = new Set(found.map((f) => prefix + f.id));
  const open = ctx.state.invOpen;
  for (const key of open) {
    if (key.startsWith(prefix) && !current.has(key)) {
      open.delete(key);
      await ctx.emit.clear(key, now, 'inventory no longer shows it');
    }
  }
  for (const f of found) {
    const key = prefix + f.id;
    if (open.has(key)) continue;
    const raised = await ctx.emit.raise(place, agentId, policy, {
      key,
      source: 'inventory',
      rule: f.rule,
      type: f.type,
      criticality: f.criticality,
      failureTime: f.since,
      title: f.title,
      what: f.what,
      context: { finding: f.id },
    });
    if (raised) open.add(key);
  }
}
