/**
 * Every inventory probe's name, in report order, as a plain list: the agent's CLI names the probes in `--help` and
 * checks `--probe` with it, and importing `rows.ts` for that would load TypeBox (~150 KB of the ~320 KB the CLI
 * parses before `--version`; docs/0009-packaging.md, "Footprint"). `probe-names.test.ts` holds it equal to the keys
 * of `PROBE_ROWS`, which stay the source of truth.
 */
export const PROBE_NAME_LIST = [
  'system_info',
  'cpu',
  'memory',
  'disks',
  'network_interfaces',
  'os_version',
  'users',
  'installed_software',
  'services',
  'licences',
  'pending_patches',
] as const;
