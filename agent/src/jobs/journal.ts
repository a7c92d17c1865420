/**
 * The agent's job journal (docs/0010-jobs.md): one small JSON file per job in `<state>/jobs/`, written to a temp
 * file, fsynced, renamed, and the directory fsynced, so "started" is on disk before the job's process exists. A job
 * the journal knows is never run again, whatever the collector resends; a job found `started` at start-up ran when
 * the agent died and is reported `interrupted`, never rerun (a script is not idempotent).
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { JobState } from '@outpost/shared';

/** One journal entry. */
export interface JournalEntry {
  jobId: string;
  state: JobState;
  /** When the agent journalled the job as started (or refused/expired it). */
  startedAt: number;
  finishedAt: number | null;
}

const ID = /^jb_[0-9a-f]{24}$/;

/** The durable job journal of one agent. */
export class JobJournal {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'jobs');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** The entry of a job, if the journal knows it. An unreadable entry counts as known (never rerun). */
  get(jobId: string): JournalEntry | undefined {
    if (!ID.test(jobId)) return undefined;
    let text: string;
    try {
      text = readFileSync(join(this.dir, `${jobId}.json`), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as JournalEntry;
    } catch {
      // A torn write cannot happen (rename is atomic) but a disk can lie: whatever the file holds, the job ran.
      // It is kept as long as a readable entry written then (its mtime).
      const at = Math.floor(statSync(join(this.dir, `${jobId}.json`)).mtimeMs);
      return { jobId, state: 'interrupted', startedAt: at, finishedAt: at };
    }
  }

  /** Durably records an entry (fsync of the file, then of the directory) before returning. */
  write(entry: JournalEntry): void {
    if (!ID.test(entry.jobId)) throw new Error(`bad job id ${entry.jobId}`);
    const file = join(this.dir, `${entry.jobId}.json`);
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(entry));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  /** Entries still `started`: jobs that were running when the agent stopped. */
  unfinished(): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith('.tmp')) {
        rmSync(join(this.dir, name), { force: true });
        continue;
      }
      const m = /^(jb_[0-9a-f]{24})\.json$/.exec(name);
      if (!m) continue;
      const e = this.get(m[1]!);
      if (e?.state === 'started') out.push(e);
    }
    return out;
  }

  /** Forgets finished entries older than `before` (the collector's job expiry is far shorter). */
  prune(before: number): number {
    let n = 0;
    for (const name of readdirSync(this.dir)) {
      const m = /^(jb_[0-9a-f]{24})\.json$/.exec(name);
      if (!m) continue;
      const e = this.get(m[1]!);
      if (e && e.state !== 'started' && (e.finishedAt ?? e.startedAt) < before) {
        rmSync(join(this.dir, name), { force: true });
        n++;
      }
    }
    return n;
  }
}
