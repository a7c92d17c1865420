/**
 * The offline side of releases: creates the TUF keys and root, signs built packages into a repository, rotates the
 * root. Runs on the release machine (`outpost release keys init`, `outpost release sign`), never inside a collector:
 * the collector only ever receives what this writes. Tests of both sides build their repositories with it.
 *
 * Keys directory (keep it offline; split the root keys among their holders in production):
 *   keys/<keyid>.pem              PKCS#8 Ed25519 private keys, 0600
 *   repository/metadata/          N.root.json, root.json, targets.json, snapshot.json, timestamp.json
 *   repository/targets/           outpost-agent/<platform>/<version>/outpost-agent[.exe]
 * `repository/` is what `outpost releases publish` uploads; `repository/metadata/1.root.json` is what agents trust.
 */
import { createHash, createPrivateKey, sign as edSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Key, Metadata, MetaFile, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { OutpostError } from '../errors.js';
import { isReleaseVersion, releaseTargetPath } from './layout.js';

const DAY = 86_400_000;
const SPEC_VERSION = '1.0.31';

/** Lifetimes of each role's metadata (ms). */
export interface Lifetimes {
  root: number;
  targets: number;
  snapshot: number;
  timestamp: number;
}
/** Root a year; targets a year (re-signed with each release); snapshot 30 days; timestamp 7 days (bounds a freeze). */
export const DEFAULT_LIFETIMES: Lifetimes = {
  root: 365 * DAY,
  targets: 365 * DAY,
  snapshot: 30 * DAY,
  timestamp: 7 * DAY,
};

/** Paths inside a keys directory. */
export function releasePaths(keysDir: string) {
  const repo = join(keysDir, 'repository');
  return { keys: join(keysDir, 'keys'), repo, metadata: join(repo, 'metadata'), targets: join(repo, 'targets') };
}

function expiry(now: number, ttl: number): string {
  // TUF wants second precision with a Z suffix.
  return new Date(Math.floor((now + ttl) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A new Ed25519 key: the TUF public key object and the private key, written to `keys/<keyid>.pem`. */
function newKey(keysPath: string): Key {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  // The key id is the SHA-256 of the key's canonical JSON (TUF §4.2); this object has sorted keys and no spaces.
  const canonical = `{"keytype":"ed25519","keyval":{"public":"${raw}"},"scheme":"ed25519"}`;
  const keyID = createHash('sha256').update(canonical).digest('hex');
  mkdirSync(keysPath, { recursive: true, mode: 0o700 });
  const file = join(keysPath, `${keyID}.pem`);
  writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  chmodSync(file, 0o600);
  return new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: raw } });
}

/** A signer for `Metadata.sign` from a private key file. */
function signerFor(keysPath: string, keyID: string): ((data: Buffer) => Signature) | undefined {
  const file = join(keysPath, `${keyID}.pem`);
  if (!existsSync(file)) return undefined;
  const key: KeyObject = createPrivateKey(readFileSync(file));
  return (data) => new Signature({ keyID, sig: edSign(null, data, key).toString('hex') });
}

/** Signs with every key of `keyIDs` held here; refuses when fewer than `threshold` are present. */
function signRole(
  md: Metadata<Root | Targets | Snapshot | Timestamp>,
  keysPath: string,
  keyIDs: string[],
  threshold: number,
  role: string,
): void {
  const signers = keyIDs.map((id) => signerFor(keysPath, id)).filter((s) => s !== undefined);
  if (signers.length < threshold) {
    throw new OutpostError('OUTPOST_E_RELEASE_KEYS', {
      message: `${role} needs ${threshold} key(s) to sign; ${signers.length} of its keys are in ${keysPath}`,
      details: { role, threshold, present: signers.length },
    });
  }
  md.signatures = {};
  for (const s of signers) md.sign(s, true);
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 1)}\n`);
  renameSync(tmp, file);
}

function readRoot(metadataDir: string): Metadata<Root> {
  const file = join(metadataDir, 'root.json');
  if (!existsSync(file)) {
    throw new OutpostError('OUTPOST_E_RELEASE_KEYS', {
      message: `${file} is missing: create the keys with \`outpost release keys init --out DIR\``,
      details: { file },
    });
  }
  return Metadata.fromJSON('root' as never, JSON.parse(readFileSync(file, 'utf8'))) as unknown as Metadata<Root>;
}

/** Options for `initReleaseKeys`. */
export interface InitOptions {
  /** Root keys to create and how many must sign (default 3 and 2). */
  rootKeys?: number;
  rootThreshold?: number;
  now?: number;
  lifetimes?: Partial<Lifetimes>;
}

/**
 * Creates a keys directory: root keys (2-of-3 by default), one targets, one snapshot and one timestamp key, and the
 * first root (`repository/metadata/1.root.json`, also `root.json`), the file agents are given to trust.
 */
export function initReleaseKeys(
  outDir: string,
  opts: InitOptions = {},
): { rootFile: string; keyIds: Record<string, string[]> } {
  const p = releasePaths(outDir);
  if (existsSync(join(p.metadata, 'root.json'))) {
    throw new OutpostError('OUTPOST_E_RELEASE_KEYS', {
      message: `${outDir} already holds release keys; refusing to overwrite them`,
      details: { dir: outDir },
    });
  }
  const now = opts.now ?? Date.now();
  const life = { ...DEFAULT_LIFETIMES, ...opts.lifetimes };
  const n = opts.rootKeys ?? 3;
  const threshold = opts.rootThreshold ?? 2;
  const root = new Root({
    version: 1,
    specVersion: SPEC_VERSION,
    expires: expiry(now, life.root),
    consistentSnapshot: false,
  });
  const ids: Record<string, string[]> = { root: [], targets: [], snapshot: [], timestamp: [] };
  for (let i = 0; i < n; i++) {
    const k = newKey(p.keys);
    root.addKey(k, 'root');
    ids.root!.push(k.keyID);
  }
  for (const role of ['targets', 'snapshot', 'timestamp'] as const) {
    const k = newKey(p.keys);
    root.addKey(k, role);
    ids[role]!.push(k.keyID);
  }
  // @tufjs/models does not export Role to build one with a threshold; its field is readonly only in the types.
  (root.roles.root as unknown as { threshold: number }).threshold = threshold;
  const md = new Metadata(root);
  signRole(md, p.keys, ids.root!, threshold, 'root');
  writeJson(join(p.metadata, '1.root.json'), md.toJSON());
  writeJson(join(p.metadata, 'root.json'), md.toJSON());
  mkdirSync(p.targets, { recursive: true });
  return { rootFile: join(p.metadata, '1.root.json'), keyIds: ids };
}

/** Options for `signRelease`. */
export interface SignOptions {
  keysDir: string;
  /** A directory of built executables named `outpost-agent-<platform>[.exe]` (what `pnpm package` writes). */
  packagesDir: string;
  /** The version they are; default: `agentVersion` of the directory's manifest.json. */
  version?: string;
  /** Sign this version as a permitted downgrade target too. */
  allowRollback?: boolean;
  /** Only these platforms (default: every executable found). */
  platforms?: string[];
  now?: number;
  lifetimes?: Partial<Lifetimes>;
}

/** One signed executable. */
export interface SignedTarget {
  path: string;
  platform: string;
  version: string;
  length: number;
  sha256: string;
}

/**
 * Adds the executables of one version to the repository's targets (earlier releases stay listed) and re-signs
 * targets, snapshot and timestamp, each with a higher version. Offline: reads keys from `keysDir/keys`.
 */
export function signRelease(opts: SignOptions): { repoDir: string; targets: SignedTarget[]; targetsVersion: number } {
  const p = releasePaths(opts.keysDir);
  const root = readRoot(p.metadata);
  if (!existsSync(opts.packagesDir) || !statSync(opts.packagesDir).isDirectory()) {
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: `${opts.packagesDir} is not a directory of built executables (\`pnpm package\` writes dist/packages)`,
    });
  }
  const now = opts.now ?? Date.now();
  const life = { ...DEFAULT_LIFETIMES, ...opts.lifetimes };
  let version = opts.version;
  if (!version) {
    const manifest = join(opts.packagesDir, 'manifest.json');
    try {
      version = (JSON.parse(readFileSync(manifest, 'utf8')) as { agentVersion?: string }).agentVersion;
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        cause,
        message: `no version given (--release) and ${manifest} cannot be read`,
      });
    }
  }
  if (!version || !isReleaseVersion(version)) {
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: `"${String(version).slice(0, 64)}" is not a release version (major.minor.patch)`,
    });
  }
  const found = readdirSync(opts.packagesDir)
    .map((f) => ({ f, m: /^outpost-agent-([a-z0-9]+-[a-z0-9]+)(\.exe)?$/.exec(f) }))
    .filter((x) => x.m && (!opts.platforms || opts.platforms.includes(x.m[1]!)))
    .sort((a, b) => a.f.localeCompare(b.f));
  if (found.length === 0) {
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: `${opts.packagesDir} holds no executable named outpost-agent-<platform> (build them with \`pnpm package\`)`,
    });
  }
  const targetsFile = join(p.metadata, 'targets.json');
  const previous = existsSync(targetsFile)
    ? (Metadata.fromJSON(
        'targets' as never,
        JSON.parse(readFileSync(targetsFile, 'utf8')),
      ) as unknown as Metadata<Targets>)
    : undefined;
  const targets = new Targets({
    version: (previous?.signed.version ?? 0) + 1,
    specVersion: SPEC_VERSION,
    expires: expiry(now, life.targets),
    targets: { ...(previous?.signed.targets ?? {}) },
  });
  const signed: SignedTarget[] = [];
  for (const { f, m } of found) {
    const platform = m![1]!;
    const src = join(opts.packagesDir, f);
    const bytes = readFileSync(src);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const path = releaseTargetPath(platform, version);
    const dest = join(p.targets, path);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(src, `${dest}.tmp`);
    renameSync(`${dest}.tmp`, dest);
    targets.addTarget(
      new TargetFile({
        path,
        length: statSync(dest).size,
        hashes: { sha256 },
        unrecognizedFields: { custom: { version, platform, ...(opts.allowRollback ? { rollbackAllowed: true } : {}) } },
      }),
    );
    signed.push({ path, platform, version, length: bytes.length, sha256 });
  }
  const targetsMd = new Metadata(targets);
  const role = (name: string) => root.signed.roles[name]!;
  signRole(targetsMd, p.keys, role('targets').keyIDs, role('targets').threshold, 'targets');
  writeJson(targetsFile, targetsMd.toJSON());
  resignSnapshotAndTimestamp(opts.keysDir, { now, lifetimes: life });
  return { repoDir: p.repo, targets: signed, targetsVersion: targets.version };
}

/**
 * Re-signs snapshot (over the current targets.json) and timestamp (over the new snapshot), each one version up.
 * Run after every targets change, and on a schedule shorter than the timestamp's lifetime to keep agents updating.
 */
export function resignSnapshotAndTimestamp(
  keysDir: string,
  opts: { now?: number; lifetimes?: Partial<Lifetimes> } = {},
): void {
  const p = releasePaths(keysDir);
  const root = readRoot(p.metadata);
  const now = opts.now ?? Date.now();
  const life = { ...DEFAULT_LIFETIMES, ...opts.lifetimes };
  const role = (name: string) => root.signed.roles[name]!;
  const read = (name: string): { signed: { version: number } } | undefined => {
    const f = join(p.metadata, `${name}.json`);
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { signed: { version: number } }) : undefined;
  };
  const targetsVersion = read('targets')?.signed.version ?? 0;
  const snapshot = new Snapshot({
    version: (read('snapshot')?.signed.version ?? 0) + 1,
    specVersion: SPEC_VERSION,
    expires: expiry(now, life.snapshot),
    meta: { 'targets.json': new MetaFile({ version: targetsVersion }) },
  });
  const snapshotMd = new Metadata(snapshot);
  signRole(snapshotMd, p.keys, role('snapshot').keyIDs, role('snapshot').threshold, 'snapshot');
  writeJson(join(p.metadata, 'snapshot.json'), snapshotMd.toJSON());
  const snapshotBytes = readFileSync(join(p.metadata, 'snapshot.json'));
  const timestamp = new Timestamp({
    version: (read('timestamp')?.signed.version ?? 0) + 1,
    specVersion: SPEC_VERSION,
    expires: expiry(now, life.timestamp),
    snapshotMeta: new MetaFile({
      version: snapshot.version,
      length: snapshotBytes.length,
      hashes: { sha256: createHash('sha256').update(snapshotBytes).digest('hex') },
    }),
  });
  const timestampMd = new Metadata(timestamp);
  signRole(timestampMd, p.keys, role('timestamp').keyIDs, role('timestamp').threshold, 'timestamp');
  writeJson(join(p.metadata, 'timestamp.json'), timestampMd.toJSON());
}

/**
 * Rotates the root: a new root version that drops `removeRootKeys` and adds as many new root keys, signed by the
 * old root's threshold (so agents trusting the old root accept it) and by the new one's (TUF §5.3.4).
 */
export function rotateRoot(
  keysDir: string,
  opts: { removeRootKeys: string[]; now?: number; lifetimes?: Partial<Lifetimes> },
): { rootFile: string; added: string[] } {
  const p = releasePaths(keysDir);
  const old = readRoot(p.metadata);
  const now = opts.now ?? Date.now();
  const life = { ...DEFAULT_LIFETIMES, ...opts.lifetimes };
  const json = old.signed.toJSON() as Record<string, unknown>;
  const next = Root.fromJSON({ ...json, version: old.signed.version + 1, expires: expiry(now, life.root) } as never);
  const rootRole = next.roles.root!;
  const added: string[] = [];
  for (const id of opts.removeRootKeys) {
    const i = rootRole.keyIDs.indexOf(id);
    if (i < 0) throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: `${id} is not a root key` });
    rootRole.keyIDs.splice(i, 1);
    const stillUsed = Object.values(next.roles).some((r) => r.keyIDs.includes(id));
    if (!stillUsed) delete next.keys[id];
    const k = newKey(p.keys);
    next.addKey(k, 'root');
    added.push(k.keyID);
  }
  const md = new Metadata(next);
  // Signed by every old and new root key held here: the old threshold makes the chain, the new one the self-check.
  const ids = [...new Set([...old.signed.roles.root!.keyIDs, ...rootRole.keyIDs])];
  signRole(md, p.keys, ids, Math.max(old.signed.roles.root!.threshold, rootRole.threshold), 'root');
  const file = join(p.metadata, `${next.version}.root.json`);
  writeJson(file, md.toJSON());
  writeJson(join(p.metadata, 'root.json'), md.toJSON());
  return { rootFile: file, added };
}
