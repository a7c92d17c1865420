/**
 * Checks a staged release repository the way an agent will, before the collector serves it: the TUF client
 * (tuf-js) walks it from the root the collector trusts, with the metadata it serves now as the floor, so a publish
 * that does not chain from that root, is expired, or goes backwards is refused; then every target the signed
 * targets list is present with its signed length and hash. The collector holds no key: it can only say no.
 */
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OutpostError } from '@outpost/shared';
import { Metadata, type TargetFile as ModelTargetFile, type Targets } from '@tufjs/models';
import { type Fetcher, Updater } from 'tuf-js';
import { DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';

/** Serves a directory to the TUF client (file:// URLs), bounded like the network fetcher. */
class DirectoryFetcher implements Fetcher {
  async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    const file = fileURLToPath(url);
    if (!existsSync(file)) throw new DownloadHTTPError(`${file} is missing`, 404);
    if (statSync(file).size > maxLength) throw new DownloadLengthMismatchError(`${file} is over ${maxLength} bytes`);
    return handler(file);
  }
  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    return this.downloadFile(url, maxLength, async (f) => readFileSync(f));
  }
}

const invalid = (message: string, details: Record<string, unknown> = {}, cause?: unknown) =>
  new OutpostError('OUTPOST_E_RELEASE_INVALID', { message: message.slice(0, 500), details, cause });

/**
 * Validates `staged` (metadata/ and targets/) against `trustedRoot` (JSON text) and the currently served metadata
 * directory `live` (may be empty). `targetExists(path)` finds a target already served. Returns the signed targets.
 */
export async function validateRepository(opts: {
  staged: string;
  trustedRoot: string;
  live: string;
  liveTarget: (path: string) => string | undefined;
}): Promise<Record<string, ModelTargetFile>> {
  const work = mkdtempSync(join(tmpdir(), 'outpost-release-check-'));
  try {
    writeFileSync(join(work, 'root.json'), opts.trustedRoot);
    // The served metadata is the floor: a publish may not go back below it (rollback, mix-and-match).
    for (const name of ['root', 'timestamp', 'snapshot', 'targets']) {
      const f = join(opts.live, `${name}.json`);
      if (existsSync(f)) writeFileSync(join(work, `${name}.json`), readFileSync(f));
    }
    const updater = new Updater({
      metadataDir: work,
      metadataBaseUrl: pathToFileURL(join(opts.staged, 'metadata/')).toString(),
      fetcher: new DirectoryFetcher(),
    });
    try {
      await updater.refresh();
    } catch (err) {
      const name = (err as { constructor?: { name?: string } })?.constructor?.name ?? 'Error';
      throw invalid(`The metadata does not verify: ${name}: ${(err as Error).message}`, { check: name }, err);
    }
    // Verified by refresh: the targets the offline key signed.
    const targets = Metadata.fromJSON(
      'targets' as never,
      JSON.parse(readFileSync(join(work, 'targets.json'), 'utf8')),
    ) as unknown as Metadata<Targets>;
    for (const [path, info] of Object.entries(targets.signed.targets)) {
      const stagedFile = join(opts.staged, 'targets', path);
      const file = existsSync(stagedFile) ? stagedFile : opts.liveTarget(path);
      if (!file) throw invalid(`The signed target ${path} was not uploaded`, { path });
      try {
        await info.verify(createReadStream(file));
      } catch (err) {
        throw invalid(`${path} does not match its signed length and hash`, { path }, err);
      }
    }
    return targets.signed.targets;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
