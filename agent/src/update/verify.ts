/**
 * Verifies release metadata with the TUF client (tuf-js) against the root this agent was given at install, and
 * finds the signed target of one version for this platform. Whatever the collector serves, only metadata chained
 * from that root, inside its expiry and not older than what was already trusted here gets through.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutpostError, ReleaseCustom, releaseTargetPath } from '@outpost/shared';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { type TargetFile, Updater } from 'tuf-js';
import type { CollectorFetcher } from './fetch.js';

/** A signed release this agent may consider. */
export interface VerifiedRelease {
  target: TargetFile;
  custom: ReleaseCustom;
}

const checkCustom = TypeCompiler.Compile(ReleaseCustom);

/** The root's JSON from the configuration: a path to root.json, or the JSON itself. */
export function loadTrustedRoot(updateRoot: string): string {
  const text = updateRoot.trimStart().startsWith('{') ? updateRoot : readFileSync(updateRoot, 'utf8');
  const version = (JSON.parse(text) as { signed?: { _type?: string; version?: number } }).signed;
  if (version?._type !== 'root' || typeof version.version !== 'number') {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', { message: 'updateRoot is not TUF root metadata' });
  }
  return text;
}

/**
 * Seeds the TUF client's directory with the configured root unless it already trusts that version or a later one
 * (rotations are followed by the client and persisted there; an install that ships a newer root wins).
 */
function seedRoot(tufDir: string, rootJson: string): void {
  mkdirSync(tufDir, { recursive: true, mode: 0o700 });
  const file = join(tufDir, 'root.json');
  const given = (JSON.parse(rootJson) as { signed: { version: number } }).signed.version;
  if (existsSync(file)) {
    try {
      const held = (JSON.parse(readFileSync(file, 'utf8')) as { signed: { version: number } }).signed.version;
      if (held >= given) return;
    } catch {
      // A damaged trusted root is replaced by the configured one below.
    }
  }
  writeFileSync(file, rootJson, { mode: 0o600 });
}

/** Refreshes the metadata and returns the signed target of `version` for `platform`, or a coded refusal. */
export async function verifyRelease(input: {
  rootJson: string;
  tufDir: string;
  fetcher: CollectorFetcher;
  platform: string;
  version: string;
}): Promise<VerifiedRelease> {
  seedRoot(input.tufDir, input.rootJson);
  const updater = new Updater({
    metadataDir: input.tufDir,
    metadataBaseUrl: input.fetcher.metadataBaseUrl,
    targetBaseUrl: input.fetcher.targetBaseUrl,
    fetcher: input.fetcher,
  });
  const path = releaseTargetPath(input.platform, input.version);
  let target: TargetFile | undefined;
  input.fetcher.lastTransportError = undefined;
  try {
    await updater.refresh();
    target = await updater.getTargetInfo(path);
  } catch (err) {
    throw updateErrorOf(err, input.fetcher.lastTransportError);
  }
  if (!target) {
    throw new OutpostError('OUTPOST_E_UPDATE_NO_TARGET', {
      message: `No signed release ${input.version} for ${input.platform}`,
      details: { version: input.version, platform: input.platform },
    });
  }
  const custom = target.custom;
  if (!checkCustom.Check(custom) || custom.version !== input.version || custom.platform !== input.platform) {
    // The offline key signed this, so it is a signer's mistake, not an attack; still never installed.
    throw new OutpostError('OUTPOST_E_UPDATE_NO_TARGET', {
      message: `The signed target ${path} does not describe ${input.version} for ${input.platform}`,
      details: { path },
    });
  }
  return { target, custom };
}

/**
 * The coded refusal for an error of the TUF client. tuf-js and @tufjs/models export few of their classes, and a
 * bundler may rename them (`ExpiredMetadataError2`), so they are told apart by name prefix. `transport`: a failure
 * of the connection during the same refresh (the fetcher's record): tuf-js reports a snapshot or targets download
 * cut by a collector restart as a bare RuntimeError, which must not read as metadata that failed to verify — a
 * rollout counts that as a bad release and halts.
 */
export function updateErrorOf(err: unknown, transport?: Error): OutpostError {
  if (err instanceof OutpostError) return err;
  if (
    transport !== undefined &&
    (err as { constructor?: { name?: string } })?.constructor?.name?.startsWith('RuntimeError')
  )
    return new OutpostError('OUTPOST_E_UPDATE_FETCH', {
      cause: err,
      message: `${ERR_PREFIX.OUTPOST_E_UPDATE_FETCH}: ${transport.message.slice(0, 300)}`,
    });
  const name = (err as { constructor?: { name?: string } })?.constructor?.name ?? '';
  const message = err instanceof Error ? err.message : String(err);
  const is = (n: string) => name.startsWith(n);
  const code = is('ExpiredMetadataError')
    ? 'OUTPOST_E_UPDATE_EXPIRED'
    : is('BadVersionError') || is('EqualVersionError')
      ? 'OUTPOST_E_UPDATE_ROLLBACK'
      : // A network or system error (ECONNREFUSED, ERR_INVALID_PROTOCOL, a pin mismatch…) carries a string code.
        is('DownloadHTTPError') || is('DownloadError') || typeof (err as { code?: unknown })?.code === 'string'
        ? 'OUTPOST_E_UPDATE_FETCH'
        : is('DownloadLengthMismatchError')
          ? 'OUTPOST_E_UPDATE_TAMPERED'
          : 'OUTPOST_E_UPDATE_UNVERIFIED';
  return new OutpostError(code, { cause: err, message: `${ERR_PREFIX[code]}: ${message.slice(0, 300)}` });
}

const ERR_PREFIX: Record<string, string> = {
  OUTPOST_E_UPDATE_EXPIRED: 'Release metadata expired',
  OUTPOST_E_UPDATE_ROLLBACK: 'Release metadata went backwards',
  OUTPOST_E_UPDATE_FETCH: 'Release metadata could not be fetched',
  OUTPOST_E_UPDATE_TAMPERED: 'Release metadata is longer than signed',
  OUTPOST_E_UPDATE_UNVERIFIED: 'Release metadata does not verify against the trusted root',
};
