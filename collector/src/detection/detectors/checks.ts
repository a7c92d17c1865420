/**
 * Checks the agents run (TCP, HTTP, ping, DNS, service, process): `checksFailAfter` consecutive failures open a
 * `check` incident whose failure time is the first failing result; one passing result clears it. A check the
 * policy no longer gives an agent clears its incident and is forgotten.
 */
import type { CheckResult, CheckSpec } from '@outpost/shared';
import { checksFor, type Policy } from '../policy.js';
import type { AgentPlace } from '../ports.js';
import type { CheckState } from '../state.js';
import type { DetectorContext } from './context.js';

/** A check in words: `HTTP check intranet (https://intranet/)`. */
export function describeCheck(c: CheckSpec): string {
  switch (c.kind) {
    case 'tcp':
      return `TCP check ${c.id} (${c.host}:${c.port})`;
    case 'http':
      return `HTTP check ${c.id} (${c.url})`;
    case 'ping':
      return `ping check ${c.id} (${c.host})`;
    case 'dns':
      return `DNS check ${c.id} (${c.name})`;
    case 'service':
      return `service check ${c.id} (${c.name})`;
    case 'process':
      return `process check ${c.id} (${c.name})`;
  }
}

/** The state of one check on one agent, created on first use. */
function checkState(ctx: DetectorContext, agentId: string, checkId: string): CheckState {
  const id = `${agentId}|${checkId}`;
  let st = ctx.state.checks.get(id);
  if (!st) {
    st = { fails: 0, first: -1, open: false };
    ctx.state.checks.set(id, st);
  }
  return st;
}

/** Feeds one agent's check results (in time order). */
export async function detectChecks(
  ctx: DetectorContext,
  agentId: string,
  place: AgentPlace,
  policy: Policy,
  results: readonly CheckResult[],
): Promise<void> {
  const specs = new Map(checksFor(policy, agentId).map((c) => [c.id, c]));
  for (const r of results) {
    // A result of a check the policy no longer gives this agent (sent before the new list arrived) is kept as a
    // series but opens nothing.
    const spec = specs.get(r.checkId);
    if (!spec) continue;
    const st = checkState(ctx, agentId, r.checkId);
    const key = `check:${agentId}:${r.checkId}`;
    const what = describeCheck(spec);
    if (r.ok) {
      st.fails = 0;
      st.first = -1;
      if (st.open) {
        st.open = false;
        await ctx.emit.clear(key, r.time, `${what} passing again: ${r.message}`);
      }
      continue;
    }
    if (st.fails++ === 0) st.first = r.time;
    if (st.open || st.fails < policy.checksFailAfter) continue;
    st.open = true;
    await ctx.emit.raise(place, agentId, policy, {
      key,
      source: 'check',
      rule: `check:${spec.kind}:${r.checkId}`,
      type: 'availability',
      criticality: 'P2',
      failureTime: st.first,
      title: `${what} failing on ${place.hostname ?? agentId}`,
      what: `${what} failed ${st.fails} times in a row: ${r.message}`,
      context: { checkId: r.checkId, check: spec, message: r.message, value: r.value ?? null },
    });
  }
}

/**
 * After a policy change: checks no longer in an agent's policy clear their open incidents and forget their state
 * (the agent stops running them, so no passing result would ever clear them).
 */
export async function reconcileChecks(ctx: DetectorContext): Promise<void> {
  for (const [id, st] of ctx.state.checks) {
    const sep = id.indexOf('|');
    const agentId = id.slice(0, sep);
    const checkId = id.slice(sep + 1);
    const place = await ctx.placeOf(agentId);
    const kept = place && checksFor(ctx.policyOf(place), agentId).some((c) => c.id === checkId);
    if (kept) continue;
    ctx.state.checks.delete(id);
    if (st.open) await ctx.emit.clear(`check:${agentId}:${checkId}`, ctx.clock.now(), 'check removed from the policy');
  }
}
