/**
 * The release root an installed agent trusts for self-update (docs/0011-releases.md): `install --update-root FILE`
 * copies the offline `1.root.json` beside the configuration, owner-only, and points the configuration's `updateRoot`
 * at it. The root must come from outside the collector: it is what lets an agent refuse a binary that a broken-into
 * collector serves (the certificate pin only proves which collector answers, not who released what). So it is either
 * a file the admin gives, or — for installers that can pass only short values (MSI properties, package environment,
 * one-liners) — fetched from the collector and accepted only if its SHA-256 is the one the admin pinned
 * (`--update-root-sha256`, printed by `outpost release keys init`): the collector carries the bytes, the admin's
 * hash decides. The file is byte for byte the release machine's, so `sha256sum` on both sides agrees.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OutpostError } from '@outpost/shared';
import { Metadata, type Root } from '@tufjs/models';
import { type AgentConfig, writeAgentConfig } from '../config/index.js';
import { CollectorFetcher, UPDATES_PATH } from '../update/fetch.js';
import { readIfExists, writeAtomic } from './files.js';
import type { InstallLayout } from './layout.js';

/** A checked release root: its text as given, and its version. */
export interface ReleaseRoot {
  text: string;
  version: number;
}

/** Reads `file` and checks it is TUF root metadata signed by its own root threshold; a bad argument otherwise. */
export function readReleaseRoot(file: string): ReleaseRoot {
  const bad = (why: string, cause?: unknown) =>
    new OutpostError('OUTPOST_E_INSTALL_ARGUMENTS', {
      message: `--update-root ${file.slice(0, 300)}: ${why} (expected the release root, 1.root.json of \`outpost release keys init\`)`,
      details: { file },
      ...(cause ? { cause } : {}),
    });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw bad(`cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, cause);
  }
  return parseReleaseRoot(text, bad);
}

/** Checks `text` is TUF root metadata signed by its own root threshold; `bad(why)` makes the refusal. */
function parseReleaseRoot(text: string, bad: (why: string, cause?: unknown) => Error): ReleaseRoot {
  if (text.length > MAX_ROOT_BYTES) throw bad('is larger than 1 MB');
  let root: Metadata<Root>;
  try {
    root = Metadata.fromJSON('root' as never, JSON.parse(text)) as unknown as Metadata<Root>;
  } catch (cause) {
    throw bad(`is not TUF root metadata: ${(cause as Error).message}`, cause);
  }
  try {
    // Signed by its own threshold of root keys, as the TUF client requires of a trusted root.
    root.verifyDelegate('root', root);
  } catch (cause) {
    throw bad(`is not signed by its own root keys: ${(cause as Error).message}`, cause);
  }
  return { text, version: root.signed.version };
}

const MAX_ROOT_BYTES = 1_000_000;

/** The SHA-256 of a root's bytes, lowercase hex: what `--update-root-sha256` pins. */
export function releaseRootSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A pinned root hash as given (hex, any case, optional `sha256:` prefix), or the bad-argument refusal. */
export function normalizeRootSha256(given: string): string {
  const hex = given
    .trim()
    .replace(/^sha256:/i, '')
    .toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new OutpostError('OUTPOST_E_INSTALL_ARGUMENTS', {
      message: `--update-root-sha256 must be 64 hex digits (the SHA-256 \`outpost release keys init\` printed), got ${given.slice(0, 80)}`,
    });
  return hex;
}

/**
 * Fetches the collector's `1.root.json` over the pinned TLS and returns it only if its bytes hash to `sha256`. The
 * first root, not the latest: the TUF client walks the signed chain from there to whatever the collector serves.
 */
export async function fetchReleaseRoot(opts: {
  server: string;
  caFingerprint: string | undefined;
  sha256: string;
  tmpDir: string;
}): Promise<ReleaseRoot> {
  const fetcher = new CollectorFetcher({
    server: opts.server,
    caFingerprint: opts.caFingerprint,
    tmpDir: opts.tmpDir,
    timeoutMs: 30_000,
  });
  const url = new URL('1.root.json', fetcher.metadataBaseUrl).toString();
  // `mismatch` can never pass by retrying (the bytes are not the pinned ones); `unavailable` may (no root yet, offline).
  const refuse = (message: string, cause?: unknown, reason: 'mismatch' | 'unavailable' = 'unavailable') =>
    new OutpostError('OUTPOST_E_INSTALL_UPDATE_ROOT', {
      message,
      details: { url, expected: opts.sha256, reason },
      ...(cause ? { cause } : {}),
    });
  let bytes: Buffer;
  try {
    bytes = await fetcher.downloadBytes(url, MAX_ROOT_BYTES);
  } catch (cause) {
    const status = (cause as { statusCode?: number }).statusCode;
    throw refuse(
      status === 404
        ? `${opts.server} serves no release root yet (${UPDATES_PATH}/metadata/1.root.json: 404); publish a release first, or give --update-root FILE`
        : `Cannot fetch the release root from ${opts.server}: ${(cause as Error).message}`,
      cause,
    );
  }
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== opts.sha256)
    throw refuse(
      `The release root ${opts.server} serves has SHA-256 ${got}, not the pinned ${opts.sha256}: not trusted; the install stopped before changing anything`,
      undefined,
      'mismatch',
    );
  return parseReleaseRoot(bytes.toString('utf8'), (why, cause) =>
    refuse(`The release root ${opts.server} serves (SHA-256 as pinned) ${why}`, cause, 'mismatch'),
  );
}

/**
 * The root pinned by `sha256`: the one already beside the configuration when it is that one (a re-run needs no
 * collector), else fetched and checked.
 */
export async function pinnedReleaseRoot(
  layout: Pick<InstallLayout, 'updateRootFile' | 'stateDir'>,
  opts: { server: string; caFingerprint: string | undefined; sha256: string },
): Promise<ReleaseRoot> {
  const have = readIfExists(layout.updateRootFile);
  if (have !== undefined && releaseRootSha256(have) === opts.sha256) {
    return parseReleaseRoot(
      have,
      (why, cause) =>
        new OutpostError('OUTPOST_E_INSTALL_UPDATE_ROOT', {
          message: `${layout.updateRootFile} ${why}`,
          ...(cause ? { cause } : {}),
        }),
    );
  }
  return fetchReleaseRoot({ ...opts, tmpDir: layout.stateDir });
}

/** Writes the root file (0600) and the configuration's pointer when either differs; returns what changed. */
export function trustReleaseRoot(
  layout: Pick<InstallLayout, 'updateRootFile' | 'targetUpdateRootFile' | 'configFile'>,
  config: AgentConfig,
  root: ReleaseRoot,
): string[] {
  const changes: string[] = [];
  if (readIfExists(layout.updateRootFile) !== root.text) {
    writeAtomic(layout.updateRootFile, root.text, 0o600);
    changes.push(`release root version ${root.version} written to ${layout.targetUpdateRootFile}`);
  }
  if (config.updateRoot !== layout.targetUpdateRootFile) {
    writeAgentConfig(layout.configFile, { ...config, updateRoot: layout.targetUpdateRootFile });
    changes.push('configuration trusts that release root');
  }
  return changes;
}
