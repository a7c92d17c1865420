/**
 * apt's package sources as apt itself reads them — `sources.list` one-line entries and deb822 `.sources` files — and
 * the names apt gives their downloaded indexes in its lists directory (apt's `URItoFileName`). Only binary (`deb`)
 * entries matter for pending patches. Anything this module does not understand makes the caller ask apt instead.
 */

/** One binary package index a source entry yields. */
export interface IndexTarget {
  /** The entry's URI, with a trailing slash. */
  uri: string;
  /** Host (and port) of the URI: what a `Pin: origin` names; empty for file: and cdrom: sources. */
  site: string;
  suite: string;
  component: string;
  /** Index file name in the lists directory, without a compression suffix. */
  listName: string;
  /** InRelease/Release file name prefix in the lists directory (append `InRelease` or `Release`). */
  releasePrefix: string;
}

export interface SourceEntry {
  uris: string[];
  suites: string[];
  components: string[];
  /** Architectures the entry is limited to (`arch=` / `Architectures:`), empty: apt's configured ones. */
  architectures: string[];
}

/** Thrown for an entry the caller must not guess about (variables, arch+=, unknown syntax). */
export class UnsupportedSource extends Error {}

/** One-line `sources.list` format: `deb [opt=v …] uri suite [component …]`. */
export function parseOneLineSources(text: string): SourceEntry[] {
  const out: SourceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^(\S+)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!m) throw new UnsupportedSource(`sources line not understood: ${line.slice(0, 120)}`);
    const [, type, opts, uri, suite, rest] = m;
    if (type !== 'deb') continue;
    const architectures: string[] = [];
    for (const o of (opts ?? '').trim().split(/\s+/).filter(Boolean)) {
      const kv = /^([a-zA-Z-]+)([+-]?)=(.*)$/.exec(o);
      if (!kv) throw new UnsupportedSource(`sources option not understood: ${o}`);
      if (kv[1] === 'arch') {
        if (kv[2]) throw new UnsupportedSource(`arch${kv[2]}= is not supported here`);
        architectures.push(...kv[3]!.split(','));
      } else if (kv[1] === 'enabled' && kv[3] === 'no') {
        architectures.length = 0;
      }
    }
    out.push({ uris: [uri!], suites: [suite!], components: rest!.trim().split(/\s+/).filter(Boolean), architectures });
  }
  return out;
}

/** deb822 `.sources` format: paragraphs of `Types`, `URIs`, `Suites`, `Components`, `Architectures`, `Enabled`. */
export function parseDeb822Sources(text: string): SourceEntry[] {
  const out: SourceEntry[] = [];
  const paragraphs = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .split(/\n\s*\n/);
  for (const p of paragraphs) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of p.split('\n')) {
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(line);
      if (!m) continue;
      last = m[1]!.toLowerCase();
      fields.set(last, m[2]!.trim());
    }
    if (fields.size === 0) continue;
    const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!words('types').includes('deb')) continue;
    if (/^(no|false)$/i.test(fields.get('enabled') ?? '')) continue;
    out.push({
      uris: words('uris'),
      suites: words('suites'),
      components: words('components'),
      architectures: words('architectures'),
    });
  }
  return out;
}

// apt's QuoteString set for file names, plus control, space and non-ASCII bytes.
const QUOTED = new Set('\\|{}[]<>"^~_=!@#$%^&*');

/** apt's `URItoFileName`: scheme and credentials dropped, unsafe characters %-quoted, `/` turned into `_`. */
export function uriToFileName(uri: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(\/\/)?(?:[^@/]*@)?(.*)$/.exec(uri);
  let rest = m ? m[3]! : uri;
  if (m && !m[2] && !rest.startsWith('/')) rest = `/${rest}`;
  let out = '';
  for (const ch of Buffer.from(rest, 'utf8')) {
    const c = String.fromCharCode(ch);
    out += ch <= 0x20 || ch >= 0x7f || QUOTED.has(c) ? `%${ch.toString(16).padStart(2, '0')}` : c;
  }
  return out.replaceAll('/', '_');
}

/** The site of a URI as apt names it for `Pin: origin`: host[:port], empty for local schemes. */
function siteOf(uri: string): string {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^@/]*@)?([^/]*)/.exec(uri);
  return m ? m[1]! : '';
}

/** The binary Packages indexes of the entries for the given architectures. */
export function indexTargets(entries: SourceEntry[], defaultArchitectures: string[]): IndexTarget[] {
  const out = new Map<string, IndexTarget>();
  for (const e of entries) {
    for (const rawUri of e.uris) {
      const uri = rawUri.endsWith('/') ? rawUri : `${rawUri}/`;
      for (const suite of e.suites) {
        if (suite.includes('$(')) throw new UnsupportedSource(`suite with a variable: ${suite}`);
        const flat = suite.endsWith('/');
        const site = siteOf(uri);
        if (flat) {
          // A flat repository: one Packages file beside its Release, whatever the architecture.
          const base = `${uri}${suite}`; // apt keeps `./` in the name: `…_repo_._Packages`
          const t: IndexTarget = {
            uri,
            site,
            suite,
            component: '',
            listName: uriToFileName(`${base}Packages`),
            releasePrefix: uriToFileName(base),
          };
          out.set(t.listName, t);
          continue;
        }
        // `binary-all` is downloaded for archives that publish arch-all packages separately; absent ones are skipped.
        const archs = [...(e.architectures.length > 0 ? e.architectures : defaultArchitectures), 'all'];
        for (const component of e.components) {
          for (const arch of archs) {
            const t: IndexTarget = {
              uri,
              site,
              suite,
              component,
              listName: uriToFileName(`${uri}dists/${suite}/${component}/binary-${arch}/Packages`),
              releasePrefix: uriToFileName(`${uri}dists/${suite}/`),
            };
            out.set(t.listName, t);
          }
        }
      }
    }
  }
  return [...out.values()];
}
