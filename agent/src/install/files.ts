/** File steps of install: each writes atomically (a temp file or link beside the target, then rename). */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

/** SHA-256 of a file, hex. */
export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The file's text, or undefined when it does not exist. */
export function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A link's target, or undefined when there is no link. */
export function readLinkIfExists(link: string): string | undefined {
  try {
    return readlinkSync(link);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return undefined; // EINVAL: a file, not a link
    throw err;
  }
}

/** Flushes a file's bytes (or a directory's entries) to disk. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to `file` with `mode` through a temp file and a rename: a reader sees the old or the new text. */
export function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = join(dirname(file), `.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, text, { mode });
    fsyncPath(tmp);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncPath(dirname(file));
}

/** Points `link` at `target` by making a new link beside it and renaming it over the old one (atomic). */
export function swapLink(link: string, target: string): void {
  const tmp = join(dirname(link), `.current.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  try {
    renameSync(tmp, link);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncPath(dirname(link));
}
