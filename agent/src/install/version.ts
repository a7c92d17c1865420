/**
 * Agent versions as install compares them: `x.y.z` with an optional `-prerelease` (semver precedence: a prerelease
 * sorts before its release; dot-separated identifiers compare numerically when both are numbers).
 */

/** What `outpost-agent --version` must print. */
export const VERSION_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** True when `v` is a version install accepts (also safe as a directory name: no slash, no dot-dot). */
export function isVersion(v: string): boolean {
  return VERSION_PATTERN.test(v);
}

/** Negative when a < b, zero when equal, positive when a > b. Both must be versions (isVersion). */
export function compareVersions(a: string, b: string): number {
  const pa = VERSION_PATTERN.exec(a);
  const pb = VERSION_PATTERN.exec(b);
  if (!pa || !pb) throw new Error(`not versions: ${a}, ${b}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  const [ra, rb] = [pa[4], pb[4]];
  if (ra === rb) return 0;
  if (ra === undefined) return 1; // a release is newer than its prereleases
  if (rb === undefined) return -1;
  const ia = ra.split('.');
  const ib = rb.split('.');
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const [x, y] = [ia[i], ib[i]];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    } else if (nx !== ny) {
      return nx ? -1 : 1; // numeric identifiers sort before alphanumeric ones
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}
