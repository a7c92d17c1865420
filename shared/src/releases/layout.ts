/**
 * What the release signer, the collector and the agent agree on about a release repository (docs/0011-releases.md):
 * where each platform's executable sits among the signed targets, the custom fields signed with it, and how
 * versions compare. The TUF metadata itself is the standard format (`@tufjs/models`).
 */
import { type Static, Type } from '@sinclair/typebox';

/** A platform as the packaging names it (`scripts/package/targets.json`): linux-x64, win-x64, darwin-x64, … */
export type ReleasePlatform = string;

/** The platform of the running process, in the packaging's names. */
export function currentPlatform(): ReleasePlatform {
  const os = process.platform === 'win32' ? 'win' : process.platform;
  return `${os}-${process.arch}`;
}

/** The executable's file name on a platform. */
export function executableName(platform: ReleasePlatform): string {
  return platform.startsWith('win') ? 'outpost-agent.exe' : 'outpost-agent';
}

/** The signed target path of one platform's executable of one version. */
export function releaseTargetPath(platform: ReleasePlatform, version: string): string {
  return `outpost-agent/${platform}/${version}/${executableName(platform)}`;
}

/** A release version: numeric major.minor.patch, optionally with a pre-release tag (no build metadata). */
export const RELEASE_VERSION_PATTERN =
  '^(0|[1-9][0-9]{0,8})\\.(0|[1-9][0-9]{0,8})\\.(0|[1-9][0-9]{0,8})(-[0-9A-Za-z.-]{1,40})?$';
export const ReleaseVersion = Type.String({ pattern: RELEASE_VERSION_PATTERN, maxLength: 64 });

/** The custom fields signed with each target (inside the offline-signed targets role, so the collector cannot add any). */
export const ReleaseCustom = Type.Object(
  {
    version: ReleaseVersion,
    platform: Type.String({ pattern: '^[a-z0-9]+-[a-z0-9]+$', maxLength: 32 }),
    /** An admin signed this version as a permitted downgrade (Chrome's RollbackToTargetVersion, signed offline). */
    rollbackAllowed: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);
export type ReleaseCustom = Static<typeof ReleaseCustom>;

/** True when `v` is a release version. */
export function isReleaseVersion(v: string): boolean {
  return new RegExp(RELEASE_VERSION_PATTERN).test(v);
}

/**
 * Compares two release versions the semver way: numeric parts first; a pre-release sorts before its release;
 * pre-release tags compare part by part (numbers numerically, below words).
 */
export function compareReleaseVersions(a: string, b: string): number {
  const [ma, pa] = splitVersion(a);
  const [mb, pb] = splitVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = (ma[i] ?? 0) - (mb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (pa === pb) return 0;
  if (pa === undefined) return 1;
  if (pb === undefined) return -1;
  const xa = pa.split('.');
  const xb = pb.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const sa = xa[i];
    const sb = xb[i];
    if (sa === undefined) return -1;
    if (sb === undefined) return 1;
    const na = /^[0-9]+$/.test(sa);
    const nb = /^[0-9]+$/.test(sb);
    if (na && nb && Number(sa) !== Number(sb)) return Math.sign(Number(sa) - Number(sb));
    if (na !== nb) return na ? -1 : 1;
    if (sa !== sb) return sa < sb ? -1 : 1;
  }
  return 0;
}

function splitVersion(v: string): [number[], string | undefined] {
  const dash = v.indexOf('-');
  const main = dash < 0 ? v : v.slice(0, dash);
  return [main.split('.').map(Number), dash < 0 ? undefined : v.slice(dash + 1)];
}
