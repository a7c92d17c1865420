/**
 * Inventory rules (docs/0003-detection.md): from a machine's current facts and its recent change history, the
 * conditions that are wrong now. Pure: the engine opens what appears and clears what disappears. Each finding has a
 * stable id so an unchanged condition is one incident, not one per inventory report.
 */
import type { Criticality } from '../incidents/signal.js';
import type { Policy } from './policy.js';
import type { InventoryFactsSnapshot, MachineChange } from './ports.js';

const DAY = 86_400_000;

/** One condition found on a machine. */
export interface InventoryFinding {
  /** Stable within the machine, e.g. `av_disabled:Defender`. */
  id: string;
  /** The rule, the same on every machine (for fleet correlation), e.g. `inventory:av_disabled`. */
  rule: string;
  type: 'security' | 'hardware' | 'compliance' | 'availability';
  criticality: Criticality;
  /** When the condition began (the change that caused it, or the date it crossed a limit). */
  since: number;
  title: string;
  what: string;
}

const num = (x: unknown, k: string): number | undefined => {
  const v = x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' ? v : undefined;
};
const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
const date = (t: number) => new Date(t).toISOString().slice(0, 10);
const matches = (pattern: string, name: string) => {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase();
  return p.endsWith('*') ? n.startsWith(p.slice(0, -1)) : n === p;
};

/**
 * A service set to start by itself that is not running: failed anywhere, or stopped on Windows. A systemd unit that
 * is merely inactive may be a one-shot that did its job; a Windows service with a delayed start often stops itself by
 * design (update services), so both are left out; launchd jobs carry no start mode.
 */
function serviceDown(s: { state: string; startMode: string; kind: string }): boolean {
  const auto = s.startMode === 'enabled' || s.startMode === 'auto';
  if (!auto) return false;
  return s.state === 'failed' || (s.kind === 'windows' && s.state === 'stopped');
}

/** What every inventory rule reads: the machine now, its history sorted by time, the policy and the time. */
interface RuleContext {
  facts: InventoryFactsSnapshot;
  rules: Policy['inventory'];
  now: number;
  /** The machine's changes over the hardware window, oldest first. */
  sorted: MachineChange[];
  /** The latest change of a kind for a subject. */
  lastChange(kind: string, subject: string): MachineChange | undefined;
}

/**
 * The findings on one machine now. `changes` is its history over the policy's hardware window, any order.
 * Hardware findings (disk gone, memory shrank) last until the hardware is back or the window has passed without a
 * new change (then the new configuration is taken as intended).
 */
export function inventoryFindings(
  facts: InventoryFactsSnapshot,
  changes: readonly MachineChange[],
  policy: Policy,
  now: number,
): InventoryFinding[] {
  const sorted = [...changes].sort((a, b) => a.time - b.time);
  const lastChange = (kind: string, subject: string) =>
    sorted.filter((c) => c.kind === kind && c.subject === subject).at(-1);
  const ctx: RuleContext = { facts, rules: policy.inventory, now, sorted, lastChange };
  return INVENTORY_RULES.flatMap((rule) => rule(ctx));
}

/** Hardware: a disk gone, or installed memory shrunk by more than firmware moves it. */
function hardwareFindings({ facts, sorted }: RuleContext): InventoryFinding[] {
  const out: InventoryFinding[] = [];
  // Hardware: the latest change of each disk and of the memory total.
  const latest = new Map<string, MachineChange>();
  for (const c of sorted) if (c.kind === 'hardware_changed' && c.subject) latest.set(c.subject, c);
  for (const [subject, c] of latest) {
    if (subject.startsWith('disk ') && c.before !== null && c.before !== undefined && !c.after) {
      const name = subject.slice(5);
      if (facts.disks.includes(name)) continue;
      out.push({
        id: `disk_removed:${name}`,
        rule: 'inventory:disk_removed',
        type: 'hardware',
        criticality: 'P2',
        since: c.time,
        title: `disk ${name} disappeared from ${facts.hostname}`,
        what: `disk ${name} (${gib(num(c.before, 'size_bytes') ?? 0)}) was reported on ${new Date(c.time).toISOString()} as no longer present`,
      });
    }
    if (subject === 'memory total') {
      const before = num(c.before, 'size_bytes');
      const after = num(c.after, 'size_bytes');
      // Under 5 %: firmware and kernel reservations move a little; a removed or failed module is far more.
      if (before && after && after < before * 0.95)
        out.push({
          id: 'memory_shrank',
          rule: 'inventory:memory_shrank',
          type: 'hardware',
          criticality: 'P2',
          since: c.time,
          title: `installed memory shrank on ${facts.hostname}`,
          what: `installed memory went from ${gib(before)} to ${gib(after)} (a module removed or failed)`,
        });
    }
  }
  return out;
}

/** Antivirus: real-time protection off, or signatures out of date. */
function antivirusFindings({ facts, now, lastChange }: RuleContext): InventoryFinding[] {
  const out: InventoryFinding[] = [];
  for (const av of facts.antivirus) {
    const changed = lastChange('av_state_changed', av.product)?.time;
    if (av.enabled === false)
      out.push({
        id: `av_disabled:${av.product}`,
        rule: 'inventory:av_disabled',
        type: 'security',
        criticality: 'P2',
        since: changed ?? now,
        title: `antivirus ${av.product} is off on ${facts.hostname}`,
        what: `real-time protection of ${av.product} is disabled`,
      });
    else if (av.upToDate === false)
      out.push({
        id: `av_outdated:${av.product}`,
        rule: 'inventory:av_outdated',
        type: 'security',
        criticality: 'P3',
        since: changed ?? now,
        title: `antivirus ${av.product} is out of date on ${facts.hostname}`,
        what: `the signatures of ${av.product} are not up to date`,
      });
  }
  return out;
}

/** Licences (antivirus and OS) expired or expiring within the policy's days, and an OS not activated. */
function licenceFindings({ facts, rules, now, lastChange }: RuleContext): InventoryFinding[] {
  const out: InventoryFinding[] = [];
  const licences = [
    ...facts.antivirus.map((a) => ({ product: a.product, expiresAt: a.expiresAt })),
    ...(facts.osActivation ? [{ product: facts.osActivation.product, expiresAt: facts.osActivation.expiresAt }] : []),
  ];
  for (const l of licences) {
    if (l.expiresAt === null || l.expiresAt - now > rules.licenceDays * DAY) continue;
    const expired = l.expiresAt <= now;
    out.push({
      id: `licence_expiring:${l.product}`,
      rule: 'inventory:licence_expiring',
      type: 'compliance',
      criticality: expired ? 'P2' : 'P3',
      since: expired ? l.expiresAt : Math.max(l.expiresAt - rules.licenceDays * DAY, 0),
      title: `${l.product} licence ${expired ? 'expired' : 'expiring'} on ${facts.hostname}`,
      what: expired
        ? `the ${l.product} licence expired on ${date(l.expiresAt)}`
        : `the ${l.product} licence expires on ${date(l.expiresAt)}, in ${Math.ceil((l.expiresAt - now) / DAY)} days`,
    });
  }
  const act = facts.osActivation;
  if (act && /^(unlicensed|notification)$/i.test(act.state))
    out.push({
      id: 'os_unlicensed',
      rule: 'inventory:os_unlicensed',
      type: 'compliance',
      criticality: 'P3',
      since: lastChange('licence_state_changed', act.product)?.time ?? now,
      title: `${act.product} is not activated on ${facts.hostname}`,
      what: `the OS licence state is "${act.state}"`,
    });
  return out;
}

/** Security updates pending for longer than the policy allows. */
function patchFindings({ facts, rules, now }: RuleContext): InventoryFinding[] {
  const out: InventoryFinding[] = [];
  const old = facts.pendingPatches
    .filter((p) => p.security && now - p.firstSeen >= rules.patchDays * DAY)
    .sort((a, b) => a.firstSeen - b.firstSeen);
  if (old.length)
    out.push({
      id: 'security_patches_pending',
      rule: 'inventory:security_patches_pending',
      type: 'security',
      criticality: 'P2',
      since: old[0]!.firstSeen + rules.patchDays * DAY,
      title: `${old.length} security update(s) pending for over ${rules.patchDays} days on ${facts.hostname}`,
      what: `${old.length} security update(s) pending for more than ${rules.patchDays} days, the oldest ${old[0]!.name} since ${date(old[0]!.firstSeen)}${
        old.length > 1
          ? ` (also ${old
              .slice(1, 4)
              .map((p) => p.name)
              .join(', ')}${old.length > 4 ? '…' : ''})`
          : ''
      }`,
    });
  return out;
}

/** An OS past its end of life, when the policy flags it. */
function endOfLifeFindings({ facts, rules, now }: RuleContext): InventoryFinding[] {
  const out: InventoryFinding[] = [];
  if (rules.endOfLife && facts.os?.endOfLife)
    out.push({
      id: 'os_end_of_life',
      rule: 'inventory:os_end_of_life',
      type: 'security',
      criticality: 'P3',
      since: facts.os.supportedUntil ?? now,
      title: `${facts.os.name} ${facts.os.version} is end of life on ${facts.hostname}`,
      what: `${facts.os.name} ${facts.os.version} gets no security updates${facts.os.supportedUntil ? ` since ${date(facts.os.supportedUntil)}` : ''}`,
    });
  return out;
}

/** Services that start automatically but are down, unless the policy ignores them. */
function serviceFindings({ facts, rules, now }: RuleContext): InventoryFinding[] {
  const out: InventoryFinding[] = [];
  if (rules.servicesDown)
    for (const svc of facts.services ?? []) {
      if (!serviceDown(svc) || rules.ignoreServices.some((p) => matches(p, svc.name))) continue;
      out.push({
        id: `service_down:${svc.name}`,
        rule: 'inventory:service_down',
        type: 'availability',
        criticality: 'P2',
        since: now, // the inventory keeps no service history: first seen down
        title: `service ${svc.name} is down on ${facts.hostname}`,
        what: `${svc.name} starts automatically (${svc.startMode}) but is ${svc.state}`,
      });
    }
  return out;
}

/** Software the policy forbids. */
function softwareFindings({ facts, rules, now, lastChange }: RuleContext): InventoryFinding[] {
  const out: InventoryFinding[] = [];
  for (const sw of facts.software) {
    const pattern = rules.forbiddenSoftware.find((p) => matches(p, sw.name));
    if (!pattern) continue;
    out.push({
      id: `software_forbidden:${sw.name}`,
      rule: 'inventory:software_forbidden',
      type: 'security',
      criticality: 'P2',
      since: lastChange('software_installed', sw.name)?.time ?? now,
      title: `unapproved software ${sw.name} on ${facts.hostname}`,
      what: `${sw.name} ${sw.version} is installed, which the policy forbids ("${pattern}")`,
    });
  }
  return out;
}

/** The rules, in the order their findings are listed. */
const INVENTORY_RULES: readonly ((ctx: RuleContext) => InventoryFinding[])[] = [
  hardwareFindings,
  antivirusFindings,
  licenceFindings,
  patchFindings,
  endOfLifeFindings,
  serviceFindings,
  softwareFindings,
];
