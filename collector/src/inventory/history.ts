/**
 * Typed changes from one probe's old and new rows (osquery's "differential" results, named for people):
 * software installed/removed/upgraded/downgraded, hardware changed, patch installed/pending, AV state changed,
 * licence state changed, OS changed. Other probes (volumes' free space, sessions) change too often to be history.
 */
import type { ProbeName } from '@outpost/shared';
import { compareDebianVersions as compareVersions } from '@outpost/shared';
import type { NewChange } from './store.js';

/** Every change kind the history records. */
export const CHANGE_KINDS = [
  'software_installed',
  'software_removed',
  'software_upgraded',
  'software_downgraded',
  'hardware_changed',
  'patch_installed',
  'patch_pending',
  'av_state_changed',
  'licence_state_changed',
  'os_changed',
] as const;
/** A change kind. */
export type ChangeKind = (typeof CHANGE_KINDS)[number];

type Row = Record<string, unknown>;
const HARDWARE: readonly ProbeName[] = ['system_info', 'cpu', 'memory'];
const pick = (r: Row, keys: string[]) => Object.fromEntries(keys.map((k) => [k, r[k] ?? null]));
const differs = (a: Row, b: Row, keys: string[]) =>
  keys.some((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null));

/** The changes between two row sets of one probe (keyed by row key). */
export function changesFor(probe: ProbeName, before: Map<string, Row>, after: Map<string, Row>): NewChange[] {
  const out: NewChange[] = [];
  const add = (kind: ChangeKind, subject: string, b: unknown, a: unknown) =>
    out.push({ kind, probe, subject: subject.slice(0, 512), before: b ?? null, after: a ?? null });
  const keys = new Set([...before.keys(), ...after.keys()]);
  for (const k of keys) {
    const b = before.get(k);
    const a = after.get(k);
    const r = (a ?? b)!;
    switch (probe) {
      case 'installed_software': {
        const view = (x: Row | undefined) => x && pick(x, ['version', 'source', 'arch', 'publisher']);
        if (!b) add('software_installed', String(r.name), null, view(a));
        else if (!a) add('software_removed', String(r.name), view(b), null);
        else if (a.version !== b.version)
          add(
            compareVersions(String(a.version), String(b.version)) > 0 ? 'software_upgraded' : 'software_downgraded',
            String(r.name),
            view(b),
            view(a),
          );
        break;
      }
      case 'pending_patches': {
        const view = (x: Row | undefined) =>
          x && pick(x, ['installed_version', 'candidate_version', 'kb', 'security', 'severity']);
        if (r.kind === 'update') {
          if (b && !a) add('patch_installed', String(r.name), view(b), null);
          else if (a && !b) add('patch_pending', String(r.name), null, view(a));
        } else if (r.kind === 'hotfix' && a && !b) add('patch_installed', String(r.kb || r.name), null, view(a));
        break;
      }
      case 'licences': {
        const fields =
          r.kind === 'antivirus'
            ? ['state', 'enabled', 'up_to_date', 'expires_at']
            : ['state', 'channel', 'expires_at'];
        if (!a || !b || differs(a, b, fields))
          add(
            r.kind === 'antivirus' ? 'av_state_changed' : 'licence_state_changed',
            String(r.product),
            b && pick(b, fields),
            a && pick(a, fields),
          );
        break;
      }
      case 'os_version': {
        const fields = ['name', 'version', 'build', 'kernel'];
        if (a && b && differs(a, b, fields)) add('os_changed', String(a.name), pick(b, fields), pick(a, fields));
        break;
      }
      case 'disks': {
        const fields = ['model', 'serial', 'size_bytes', 'type'];
        if (r.kind === 'disk' && (!a || !b || differs(a, b, fields)))
          add('hardware_changed', `disk ${String(r.name)}`, b && pick(b, fields), a && pick(a, fields));
        break;
      }
      default:
        if (HARDWARE.includes(probe) && (!a || !b || differs(a, b, Object.keys(r)))) {
          const volatile = probe === 'system_info' ? ['hostname', 'machine_id'] : [];
          const fields = Object.keys(r).filter((f) => !volatile.includes(f));
          if (!a || !b || differs(a, b, fields))
            add(
              'hardware_changed',
              `${probe}${k ? ` ${k.replaceAll('\u001f', ' ')}` : ''}`.trim(),
              b && pick(b, fields),
              a && pick(a, fields),
            );
        }
    }
  }
  return out;
}
