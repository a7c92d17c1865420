/** Fleet-wide questions a technician asks, answered over the current inventory of the devices in a scope. */

import { compareDebianVersions as compareVersions } from '@outpost/shared';
import type { Clock } from '../config.js';
import { hardwareAgeYears, type Inventory } from './service.js';
import type { DeviceRecord } from './store.js';

const DAY = 86_400_000;

/** A scope: the clients the caller may read (undefined: all), optionally one site. */
export interface Scope {
  clientIds?: readonly string[] | undefined;
  siteId?: string | undefined;
}

/** One answer row: which machine, and what about it. */
export interface FleetRow {
  deviceId: string;
  agentId: string;
  clientId: string;
  siteId: string;
  hostname: string;
  subject: string;
  detail: string;
  /** A time the answer hinges on (expiry, first seen, EOL date), or null. */
  time: number | null;
}

const base = (d: DeviceRecord) => ({
  deviceId: d.id,
  agentId: d.currentAgentId,
  clientId: d.clientId,
  siteId: d.siteId,
  hostname: d.hostname,
});

/** The fleet queries. */
export class FleetQueries {
  constructor(
    private readonly inventory: Inventory,
    private readonly clock: Clock,
  ) {}

  async #devices(scope: Scope): Promise<Map<string, DeviceRecord>> {
    return new Map((await this.inventory.devices(scope)).map((d) => [d.id, d]));
  }

  /** Machines running software whose name contains `name` (case-insensitive), optionally below `below`. */
  async software(scope: Scope, name: string, below?: string): Promise<FleetRow[]> {
    const devices = await this.#devices(scope);
    const needle = name.toLowerCase();
    const out: FleetRow[] = [];
    for (const r of await this.inventory.store.rowsOfProbe('installed_software')) {
      const d = devices.get(r.deviceId);
      const n = String(r.data.name);
      if (!d || !n.toLowerCase().includes(needle)) continue;
      const v = String(r.data.version);
      if (below !== undefined && compareVersions(v, below) >= 0) continue;
      out.push({
        ...base(d),
        subject: n,
        detail: v,
        time: typeof r.data.install_date === 'number' ? r.data.install_date : null,
      });
    }
    return out.sort((a, b) => a.hostname.localeCompare(b.hostname) || a.subject.localeCompare(b.subject));
  }

  /** Pending patches (security only by default) first seen more than `olderThanDays` ago. */
  async patches(scope: Scope, olderThanDays: number, securityOnly = true): Promise<FleetRow[]> {
    const devices = await this.#devices(scope);
    const cutoff = this.clock.now() - olderThanDays * DAY;
    const out: FleetRow[] = [];
    for (const r of await this.inventory.store.rowsOfProbe('pending_patches')) {
      const d = devices.get(r.deviceId);
      if (!d || r.data.kind !== 'update' || r.firstSeen > cutoff) continue;
      if (securityOnly && r.data.security !== true) continue;
      const kb = r.data.kb ? ` ${String(r.data.kb)}` : '';
      out.push({
        ...base(d),
        subject: `${String(r.data.name)}${kb}`,
        detail: `${String(r.data.installed_version)} -> ${String(r.data.candidate_version)}${r.data.severity ? ` (${String(r.data.severity)})` : ''}`,
        time: r.firstSeen,
      });
    }
    return out.sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
  }

  /** Antivirus disabled, out of date, or whose licence expires within `withinDays`; Windows machines without one. */
  async antivirus(scope: Scope, withinDays: number): Promise<FleetRow[]> {
    const devices = await this.#devices(scope);
    const horizon = this.clock.now() + withinDays * DAY;
    const out: FleetRow[] = [];
    const withAv = new Set<string>();
    for (const r of await this.inventory.store.rowsOfProbe('licences')) {
      const d = devices.get(r.deviceId);
      if (!d || r.data.kind !== 'antivirus') continue;
      withAv.add(d.id);
      const problems: string[] = [];
      if (r.data.enabled === false) problems.push('disabled');
      if (r.data.up_to_date === false) problems.push('out of date');
      const exp = typeof r.data.expires_at === 'number' ? r.data.expires_at : null;
      if (exp !== null && exp <= horizon) problems.push(exp < this.clock.now() ? 'expired' : 'expiring');
      if (problems.length)
        out.push({ ...base(d), subject: String(r.data.product), detail: problems.join(', '), time: exp });
    }
    for (const d of devices.values()) {
      if (withAv.has(d.id)) continue;
      const os = (await this.inventory.rows(d.id, 'os_version'))[0]?.data;
      if (os?.family === 'windows')
        out.push({ ...base(d), subject: '(none)', detail: 'no antivirus reported', time: null });
    }
    return out;
  }

  /** Machines whose OS is past its end of life (or reaches it within `withinDays`). */
  async endOfLife(scope: Scope, withinDays = 0): Promise<FleetRow[]> {
    const horizon = this.clock.now() + withinDays * DAY;
    const out: FleetRow[] = [];
    for (const d of (await this.#devices(scope)).values()) {
      const eol = await this.inventory.eolOf(d.id);
      if (eol.supportedUntil === null || eol.supportedUntil > horizon) continue;
      out.push({
        ...base(d),
        subject: eol.label ?? '',
        detail: eol.endOfLife ? 'end of life' : 'reaching end of life',
        time: eol.supportedUntil,
      });
    }
    return out;
  }

  /** Machines older than `years` (BIOS date, or first seen when the firmware gives none). */
  async olderThan(scope: Scope, years: number): Promise<FleetRow[]> {
    const now = this.clock.now();
    const out: FleetRow[] = [];
    for (const d of (await this.#devices(scope)).values()) {
      const age = hardwareAgeYears(d, now);
      if (age === null || age < years) continue;
      out.push({
        ...base(d),
        subject: `${d.manufacturer} ${d.model}`.trim(),
        detail: `${age.toFixed(1)} years`,
        time: d.biosDate ? Date.parse(`${d.biosDate}T00:00:00Z`) : d.firstSeen,
      });
    }
    return out;
  }
}
