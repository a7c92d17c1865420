/**
 * Pending apt updates computed by the agent itself, the answer `apt list --upgradable` gives, without apt's cost:
 * apt rebuilds its whole package cache (~0.6–1 s of CPU for Debian's 60,000 packages) when its binary cache is absent
 * or stale, which is every run on images that disable it and every run after `apt update` elsewhere. Here only the
 * installed packages' records are read from the downloaded indexes (decompressed by apt's own `apt-helper cat-file`
 * when not plain or gzip), and apt's version policy (apt-policy.ts) picks each candidate.
 *
 * It answers only when it can be sure to agree with apt: the indexes in the lists directory must be exactly those
 * the configured sources name, and the configuration and pins must be ones apt-policy.ts models. Otherwise it says
 * why, and the caller runs apt. Tests hold it equal to `apt list --upgradable` on this machine and on fixture
 * repositories with pins and NotAutomatic archives.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  type AvailableVersion,
  type Pin,
  parsePreferences,
  parseRelease,
  type ReleaseInfo,
  UnsupportedPolicy,
  upgradeCandidate,
} from './apt-policy.js';
import {
  type IndexTarget,
  indexTargets,
  parseDeb822Sources,
  parseOneLineSources,
  type SourceEntry,
  UnsupportedSource,
} from './apt-sources.js';

/** One upgradable package, as `apt list --upgradable` prints it. */
export interface AptUpgrade {
  name: string;
  arch: string;
  installed: string;
  candidate: string;
  /** Suites the candidate comes from, as `apt list` prints them (`oldstable-security`, …). */
  suites: string[];
  /** From a security archive (by its suite or codename, or the source entry's suite). */
  security: boolean;
}

export type NativeAnswer = { ok: true; upgrades: AptUpgrade[] } | { ok: false; reason: string };

/** What the agent needs from `apt-config dump`. */
export interface AptPaths {
  status: string;
  lists: string;
  sourceList: string;
  sourceParts: string;
  preferences: string;
  preferencesParts: string;
  nativeArch: string;
  architectures: string[];
  defaultRelease: string;
}

interface Installed {
  name: string;
  arch: string;
  version: string;
}

const SECURITY = /security/i;
const SEP = Buffer.from('\n\n');
const COMPRESSIONS = ['', '.gz', '.lz4', '.xz', '.zst', '.bz2', '.lzma'];
// dpkg states in which apt sees a current version.
const NOT_CURRENT = new Set(['not-installed', 'config-files']);

/** Installed packages of a dpkg status file, keyed `name:arch` (arch `all` under the native architecture). */
export function parseDpkgStatus(text: string, nativeArch: string): Map<string, Installed> {
  const out = new Map<string, Installed>();
  for (const rec of text.split(/\n\n+/)) {
    const f = (k: string) => new RegExp(`^${k}: *(.*)$`, 'm').exec(rec)?.[1]?.trim();
    const name = f('Package');
    const status = f('Status')?.split(/\s+/)[2];
    const version = f('Version');
    if (!name || !version || !status || NOT_CURRENT.has(status)) continue;
    const arch = f('Architecture') ?? nativeArch;
    out.set(`${name}:${arch === 'all' ? nativeArch : arch}`, { name, arch, version });
  }
  return out;
}

/**
 * Every record of a Packages index whose name is wanted: `onRecord(name, version, arch, phased)`. Only the wanted
 * records are decoded; the rest of the (tens of MB) index is skipped by byte search.
 */
export function scanPackages(
  buf: Buffer,
  wanted: Set<string>,
  onRecord: (name: string, version: string, arch: string, phased: boolean) => void,
): void {
  const len = buf.length;
  let pos = 0;
  while (pos < len) {
    while (pos < len && buf[pos] === 0x0a) pos++;
    if (pos >= len) break;
    let end = buf.indexOf(SEP, pos);
    if (end < 0) end = len;
    const name = findField(buf, pos, end, 'Package');
    if (name !== undefined && wanted.has(name)) {
      const version = findField(buf, pos, end, 'Version');
      const arch = findField(buf, pos, end, 'Architecture');
      const phased = findField(buf, pos, end, 'Phased-Update-Percentage') !== undefined;
      if (version && arch) onRecord(name, version, arch, phased);
    }
    pos = end + 2;
  }
}

/** The value of `key` in the record buf[start, end), matched at a line start. */
function findField(buf: Buffer, start: number, end: number, key: string): string | undefined {
  const needle = `${key}: `;
  if (buf.toString('latin1', start, start + needle.length) === needle) return lineAt(buf, start + needle.length, end);
  // Search this record only: an absent field must not scan the rest of a 50 MB index.
  const rel = buf.subarray(start, end).indexOf(`\n${needle}`);
  if (rel < 0) return undefined;
  return lineAt(buf, start + rel + 1 + needle.length, end);
}

function lineAt(buf: Buffer, from: number, end: number): string {
  let eol = buf.indexOf(0x0a, from);
  if (eol < 0 || eol > end) eol = end;
  return buf.toString('utf8', from, eol).trim();
}

/** `apt-config dump` text → the paths and settings this module reads. */
export function aptPathsFrom(dump: string, dir: (key: string) => string): AptPaths {
  const values = (key: string) =>
    [...dump.matchAll(new RegExp(`^${key.replaceAll(':', '\\:')} "(.*)";$`, 'gm'))].map((m) => m[1]!);
  const nativeArch = values('APT::Architecture')[0] ?? '';
  const archs = values('APT::Architectures::').filter(Boolean);
  return {
    status: dir('Dir::State::status'),
    lists: dir('Dir::State::lists'),
    sourceList: dir('Dir::Etc::sourcelist'),
    sourceParts: dir('Dir::Etc::sourceparts'),
    preferences: dir('Dir::Etc::preferences'),
    preferencesParts: dir('Dir::Etc::preferencesparts'),
    nativeArch,
    architectures: archs.length > 0 ? archs : [nativeArch],
    defaultRelease: values('APT::Default-Release')[0] ?? '',
  };
}

const readOr = (p: string) => readFile(p, 'utf8').catch(() => '');
const listDir = (d: string) => readdir(d).catch(() => [] as string[]);

/** Every `deb` entry of sources.list and sources.list.d (`*.list`, `*.sources`; apt ignores other names). */
async function readSources(paths: AptPaths): Promise<SourceEntry[]> {
  const entries = parseOneLineSources(await readOr(paths.sourceList));
  for (const n of (await listDir(paths.sourceParts)).sort()) {
    if (!/^[\w.-]+$/.test(n)) continue;
    if (n.endsWith('.list')) entries.push(...parseOneLineSources(await readOr(join(paths.sourceParts, n))));
    else if (n.endsWith('.sources')) entries.push(...parseDeb822Sources(await readOr(join(paths.sourceParts, n))));
  }
  return entries;
}

/** The preferences file and the parts apt reads (no extension or `.pref`). */
async function readPins(paths: AptPaths): Promise<Map<string, Pin>> {
  const texts = [await readOr(paths.preferences)];
  for (const n of (await listDir(paths.preferencesParts)).sort()) {
    if (/^[\w.-]+$/.test(n) && (!n.includes('.') || n.endsWith('.pref')))
      texts.push(await readOr(join(paths.preferencesParts, n)));
  }
  return parsePreferences(texts.join('\n\n'));
}

/**
 * Feeds a Packages index to `scanPackages` as it is read and decompressed (plain and gzip here, anything else through
 * apt's own `apt-helper cat-file`), a chunk at a time: decompression and scanning overlap, and the 50 MB index is never
 * held whole. Records cut by a chunk boundary are joined before they are scanned.
 */
function streamIndex(path: string, timeoutMs: number, onChunk: (b: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let source: Readable;
    let child: ChildProcess | undefined;
    if (path.endsWith('_Packages')) source = createReadStream(path, { highWaterMark: 1 << 20 });
    else if (path.endsWith('.gz')) source = createReadStream(path).pipe(createGunzip());
    else {
      child = spawn('/usr/lib/apt/apt-helper', ['cat-file', path], { stdio: ['ignore', 'pipe', 'ignore'] });
      source = child.stdout!;
    }
    const timer = setTimeout(() => {
      child?.kill('SIGKILL');
      source.destroy(new Error(`reading ${path} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    source.on('data', (b: Buffer) => onChunk(b));
    source.on('error', fail);
    child?.on('error', fail);
    const streamDone = new Promise<void>((r) => source.on('end', () => r()));
    const exited = child
      ? new Promise<void>((r, rj) =>
          child.on('close', (code) => (code === 0 ? r() : rj(new Error(`apt-helper cat-file ${path}: exit ${code}`)))),
        )
      : Promise.resolve();
    Promise.all([streamDone, exited]).then(() => {
      clearTimeout(timer);
      resolve();
    }, fail);
  });
}

/** Splits a stream of index chunks into whole records for `scanPackages`. */
export function recordChunker(scan: (records: Buffer) => void): { push(b: Buffer): void; end(): void } {
  let carry: Buffer | undefined;
  return {
    push(chunk) {
      let start = 0;
      if (carry) {
        if (carry[carry.length - 1] === 0x0a && chunk[0] === 0x0a) {
          scan(carry); // the separator itself was cut in two
          start = 1;
        } else {
          const first = chunk.indexOf(SEP);
          if (first < 0) {
            carry = Buffer.concat([carry, chunk]);
            return;
          }
          scan(Buffer.concat([carry, chunk.subarray(0, first)]));
          start = first + 2;
        }
        carry = undefined;
      }
      const last = chunk.lastIndexOf(SEP);
      if (last < start) {
        if (start < chunk.length) carry = chunk.subarray(start);
        return;
      }
      scan(chunk.subarray(start, last));
      if (last + 2 < chunk.length) carry = chunk.subarray(last + 2);
    },
    end() {
      if (carry?.length) scan(carry);
      carry = undefined;
    },
  };
}

async function readReleaseInfo(lists: string, t: IndexTarget): Promise<ReleaseInfo | undefined> {
  for (const name of ['InRelease', 'Release']) {
    const text = await readFile(join(lists, `${t.releasePrefix}${name}`), 'utf8').catch(() => undefined);
    if (text !== undefined) return parseRelease(text);
  }
  return undefined;
}

/** The upgradable packages, or why only apt can tell. */
export async function aptUpgradableNative(paths: AptPaths, timeoutMs: number): Promise<NativeAnswer> {
  try {
    if (paths.defaultRelease) return { ok: false, reason: 'APT::Default-Release is set' };
    if (!paths.nativeArch) return { ok: false, reason: 'no APT::Architecture' };
    const [entries, pins, statusText, listed] = await Promise.all([
      readSources(paths),
      readPins(paths),
      readFile(paths.status, 'latin1'),
      listDir(paths.lists),
    ]);
    const targets = indexTargets(entries, paths.architectures);
    // The indexes present must be exactly the configured ones: a stale index from a removed source, or a name this
    // module computes differently from apt, means apt's view may differ.
    const present = new Set(listed.filter((n) => /_Packages(\.\w+)?$/.test(n)));
    const files: { target: IndexTarget; path: string }[] = [];
    for (const t of targets) {
      const found = COMPRESSIONS.map((c) => t.listName + c).find((n) => present.has(n));
      if (found === undefined) continue; // never downloaded: apt has nothing from it either
      present.delete(found);
      files.push({ target: t, path: join(paths.lists, found) });
    }
    if (present.size > 0) return { ok: false, reason: `index not named by any source: ${[...present][0]}` };

    const installed = parseDpkgStatus(statusText, paths.nativeArch);
    const wanted = new Set([...installed.values()].map((p) => p.name));
    const available = new Map<string, (AvailableVersion & { entrySuite: string })[]>();
    let phased = false;
    await Promise.all(
      files.map(async ({ target, path }) => {
        const release = await readReleaseInfo(paths.lists, target);
        const onRecord = (name: string, version: string, arch: string, isPhased: boolean) => {
          const key = `${name}:${arch === 'all' ? paths.nativeArch : arch}`;
          if (!installed.has(key)) return;
          if (isPhased) phased = true;
          // What `apt list` prints: the archive's Release `Suite`, `unknown` without one.
          const suite = release?.suite || 'unknown';
          const v = {
            version,
            site: target.site,
            suite,
            component: target.component,
            arch,
            release,
            entrySuite: target.suite,
          };
          const list = available.get(key);
          if (list) list.push(v);
          else available.set(key, [v]);
        };
        const chunker = recordChunker((records) => scanPackages(records, wanted, onRecord));
        await streamIndex(path, timeoutMs, (b) => chunker.push(b));
        chunker.end();
      }),
    );
    if (phased) return { ok: false, reason: 'phased updates are left to apt' };

    const upgrades: AptUpgrade[] = [];
    for (const [key, pkg] of installed) {
      const versions = available.get(key);
      if (!versions) continue;
      const pin = pins.get(pkg.name) ?? pins.get(key);
      const best = upgradeCandidate(pkg.version, versions, pin);
      if (!best) continue;
      upgrades.push({
        name: pkg.name,
        arch: best.from[0]!.arch,
        installed: pkg.version,
        candidate: best.version,
        suites: [...new Set(best.from.map((v) => v.suite))],
        security: best.from.some((v) => SECURITY.test(`${v.suite} ${v.release?.codename ?? ''} ${v.entrySuite}`)),
      });
    }
    return { ok: true, upgrades: upgrades.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  } catch (err) {
    if (err instanceof UnsupportedPolicy || err instanceof UnsupportedSource) return { ok: false, reason: err.message };
    return { ok: false, reason: `reading apt's state failed: ${(err as Error).message}` };
  }
}
