/** Version ordering for fleet queries ("software X below version Y"): Debian-style, good enough for rpm and Windows. */

function compareSegment(a: string, b: string): number {
  // dpkg's algorithm: alternate non-digit and digit runs; '~' sorts before everything, even the end.
  const order = (c: string | undefined) =>
    c === undefined ? 0 : c === '~' ? -1 : /[A-Za-z]/.test(c) ? c.charCodeAt(0) : c.charCodeAt(0) + 256;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ca = i < a.length && !/\d/.test(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !/\d/.test(b[j]!) ? b[j] : undefined;
      const d = order(ca) - order(cb);
      if (d !== 0) return d < 0 ? -1 : 1;
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    let na = '';
    let nb = '';
    while (i < a.length && /\d/.test(a[i]!)) na += a[i++];
    while (j < b.length && /\d/.test(b[j]!)) nb += b[j++];
    const d = Number(na || '0') - Number(nb || '0');
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Compares two version strings (epoch:upstream-revision): negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const m = /^(?:(\d+):)?(.*?)(?:-([^-]*))?$/.exec(v.trim())!;
    return { epoch: Number(m[1] ?? 0), upstream: m[2] ?? '', revision: m[3] ?? '' };
  };
  const x = split(a);
  const y = split(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return compareSegment(x.upstream, y.upstream) || compareSegment(x.revision, y.revision);
}
