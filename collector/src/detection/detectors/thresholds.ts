/**
 * Threshold rules with a duration: a series beyond a policy limit for `forSec` opens a `threshold` incident (failure
 * time: the first sample beyond it), back within the clear level for `clearSec` clears it. Per-program CPU rules
 * (`proc.cpu_pct:<name>`) read the sample's top list. Each rule on each series has its own state.
 */
import type { TopProcess } from '@outpost/shared';
import { formatValue } from '../explain.js';
import { type Policy, PROC_CPU_PREFIX, ruleCovers, type ThresholdRule, thresholdsOf } from '../policy.js';
import type { AgentPlace } from '../ports.js';
import type { DetectorContext } from './context.js';

/** True for the rules evaluated on a machine series (per-program rules go by the sample's top list instead). */
export const coversSeries = (rule: ThresholdRule, metric: string) =>
  !rule.metric.startsWith(PROC_CPU_PREFIX) && ruleCovers(rule, metric);

/**
 * Threshold rules on one program's CPU, `proc.cpu_pct:<name>` (% of one core, summed over its processes), read from
 * the sample's top list: a program absent from it counts as 0. Only thresholds: per-program series come and go too
 * often for a baseline, and a runaway program on a busy machine barely moves the machine's total.
 */
export async function detectProcessRules(
  ctx: DetectorContext,
  agentId: string,
  place: AgentPlace,
  policy: Policy,
  t: number,
  top: readonly TopProcess[],
): Promise<void> {
  for (const rule of thresholdsOf(policy)) {
    if (!rule.metric.startsWith(PROC_CPU_PREFIX)) continue;
    const name = rule.metric.slice(PROC_CPU_PREFIX.length);
    let x = 0;
    const pids: number[] = [];
    for (const p of top)
      if (p.name === name) {
        x += p.cpuPct;
        pids.push(p.pid);
      }
    const detail = pids.length ? ` (${name}: pid ${pids.slice(0, 5).join(', ')})` : '';
    await detectThreshold(ctx, agentId, rule.metric, place, policy, rule, t, x, detail);
  }
}

/** One rule on one sample of one series (the engine calls it for each rule that `coversSeries`). */
export async function detectThreshold(
  ctx: DetectorContext,
  agentId: string,
  metric: string,
  place: AgentPlace,
  policy: Policy,
  r: ThresholdRule,
  t: number,
  x: number,
  detail = '',
): Promise<void> {
  const st = ctx.state.ruleOf(agentId, metric, r);
  const breach = r.op === '>' ? x > r.value : x < r.value;
  const clearLevel = r.clear ?? r.value;
  const clear = r.op === '>' ? x <= clearLevel : x >= clearLevel;
  const key = `threshold:${agentId}:${metric}:${r.op}${r.value}`;
  if (!st.open) {
    if (!breach) st.breach = -1;
    else {
      if (st.breach < 0) st.breach = t;
      if (t - st.breach >= r.forSec * 1000) {
        st.open = true;
        st.clear = -1;
        await ctx.emit.raise(place, agentId, policy, {
          key,
          source: 'threshold',
          rule: `${r.metric} ${r.op} ${r.value}`,
          type: 'performance',
          criticality: r.criticality ?? 'P3',
          failureTime: st.breach,
          title: `${metric} ${r.op} ${formatValue(metric, r.value)} on ${place.hostname ?? agentId}`,
          what: `${metric} is ${formatValue(metric, x)}, ${r.op === '>' ? 'above' : 'below'} the policy limit of ${formatValue(metric, r.value)} for ${Math.round((t - st.breach) / 1000)} s${detail}`,
          context: { value: x, limit: r.value },
        });
      }
    }
  } else if (clear) {
    if (st.clear < 0) st.clear = t;
    if (t - st.clear >= r.clearSec * 1000) {
      st.open = false;
      st.breach = -1;
      await ctx.emit.clear(key, t, `${metric} back within ${formatValue(metric, clearLevel)}`);
    }
  } else st.clear = -1;
}

/**
 * After a policy change: threshold incidents whose rule the agent's policy no longer has are cleared, and their
 * state forgotten (nothing would evaluate them again, so nothing would ever clear them).
 */
export async function reconcileThresholds(ctx: DetectorContext): Promise<void> {
  for (const [id, st] of ctx.state.rules) {
    const first = id.indexOf('|');
    const last = id.lastIndexOf('|');
    const agentId = id.slice(0, first);
    const metric = id.slice(first + 1, last);
    const rule = id.slice(last + 1);
    const place = await ctx.placeOf(agentId);
    const kept =
      place &&
      thresholdsOf(ctx.policyOf(place)).some(
        (r) => `${r.op}${r.value}` === rule && (ruleCovers(r, metric) || r.metric === metric),
      );
    if (kept) continue;
    ctx.state.rules.delete(id);
    if (st.open)
      await ctx.emit.clear(`threshold:${agentId}:${metric}:${rule}`, ctx.clock.now(), 'rule removed from the policy');
  }
}
