/**
 * Device identity (docs/0002-inventory.md): which known machine a newly seen agent runs on. A reinstalled agent or
 * a renamed machine maps to its device; placeholder serials and UUIDs, and identifiers already seen on two live
 * machines (cloned VMs), never merge two machines. Pure functions: the service feeds them stored devices.
 */

const BOGUS_SERIAL = [
  /^$/,
  /^(default string|to be filled by o\.?e\.?m\.?|system serial number|not specified|not applicable|none|n\/a|na|unknown|invalid|oem|o\.e\.m\.|chassis serial number|serial|0123456789|123456789|1234567890|xxxxxxxxxx|base board serial number|empty|null)$/i,
  /^0+$/,
  /^[fF]+$/,
  /^[\s.\-_0]*$/,
];

/** True for serials that identify nothing (firmware placeholders). */
export function isBogusSerial(serial: string): boolean {
  const s = serial.trim();
  return s.length < 4 || BOGUS_SERIAL.some((re) => re.test(s));
}

const KNOWN_BOGUS_UUIDS = new Set([
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '03000200-0400-0500-0006-000700080009',
  '00020003-0004-0005-0006-000700080009',
  '4c4c4544-0000-2010-8020-80c04f202020',
]);

/** True for UUIDs that identify nothing (unset, all zeros or ones, known firmware defaults). */
export function isBogusUuid(uuid: string): boolean {
  const u = uuid.trim().toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(u)) return true;
  if (KNOWN_BOGUS_UUIDS.has(u)) return true;
  return /^([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}$/.test(u);
}

/** What a report tells about the machine. */
export interface IdentityFacts {
  hostname: string;
  manufacturer: string;
  serial: string;
  hwUuid: string;
  machineId: string;
  macs: string[];
  virtual: boolean;
}

/** A stored device as identity matching sees it. */
export interface IdentityCandidate extends IdentityFacts {
  id: string;
  clientId: string;
}

/** MACs that identify a NIC: not empty, not all zeros, not locally administered (random or virtual). */
export function usableMacs(macs: readonly string[]): string[] {
  return macs
    .map((m) => m.toLowerCase())
    .filter(
      (m) =>
        /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m) &&
        m !== '00:00:00:00:00:00' &&
        (Number.parseInt(m.slice(0, 2), 16) & 2) === 0,
    );
}

/**
 * The device a new agent belongs to, or undefined for a new device. `shared(kind, value)` says whether an identifier
 * was already seen on two live machines. A candidate must match a usable serial (same manufacturer) or UUID, and be
 * corroborated by a MAC, the host name or the OS installation id — unless it is physical and both serial and UUID
 * match (a reinstall with a new NIC and a new name). Candidates of another client never match.
 */
export function matchDevice(
  facts: IdentityFacts,
  clientId: string,
  candidates: readonly IdentityCandidate[],
  shared: (kind: 'serial' | 'uuid', value: string) => boolean,
): IdentityCandidate | undefined {
  const serialOk = !isBogusSerial(facts.serial) && !shared('serial', facts.serial);
  const uuidOk = !isBogusUuid(facts.hwUuid) && !shared('uuid', facts.hwUuid.toLowerCase());
  const macs = new Set(usableMacs(facts.macs));
  let best: { c: IdentityCandidate; score: number } | undefined;
  for (const c of candidates) {
    if (c.clientId !== clientId) continue;
    const serialMatch =
      serialOk && c.serial === facts.serial && c.manufacturer.toLowerCase() === facts.manufacturer.toLowerCase();
    const uuidMatch = uuidOk && c.hwUuid.toLowerCase() === facts.hwUuid.toLowerCase();
    if (!serialMatch && !uuidMatch) continue;
    const macMatch = usableMacs(c.macs).some((m) => macs.has(m));
    const nameMatch = facts.hostname !== '' && c.hostname.toLowerCase() === facts.hostname.toLowerCase();
    const installMatch = facts.machineId !== '' && c.machineId === facts.machineId;
    const corroborated = macMatch || nameMatch || installMatch;
    if (!corroborated && !(serialMatch && uuidMatch && !facts.virtual)) continue;
    const score =
      (serialMatch ? 4 : 0) + (uuidMatch ? 4 : 0) + (macMatch ? 2 : 0) + (nameMatch ? 1 : 0) + (installMatch ? 1 : 0);
    if (!best || score > best.score) best = { c, score };
  }
  return best?.c;
}
