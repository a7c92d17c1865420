/**
 * The day partitions of `metric_samples` on PostgreSQL (issue 20: "partitioned by time so old raw samples drop
 * cheaply"). One partition per UTC day, `metric_samples_YYYYMMDD`, created ahead as time moves and dropped whole by
 * retention. A sample no day partition covers lands in the default partition (the migration creates it), so an
 * insert never fails for its time: when its day's partition is created later, the rows of that day move into it.
 * Partition work runs in its own transaction under an advisory lock, never inside a stream batch's: DDL there would
 * hold the parent table's lock until the batch commits, and two nodes creating the same day would race.
 */
import type { SqlDb } from '../db/index.js';

export const DAY = 86_400_000;
/** Days created past today, so the day boundary never sends samples to the default partition. */
export const DAYS_AHEAD = 2;
/** An arbitrary constant: the advisory lock key serialising partition changes across collector nodes. */
const PARTITION_LOCK = 7_020_200;
const PREFIX = 'metric_samples_';
const NAME = /^metric_samples_(\d{4})(\d{2})(\d{2})$/;

/** The partition name of the UTC day that starts at `dayStart`. */
export function partitionName(dayStart: number): string {
  return `${PREFIX}${new Date(dayStart).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The start (ms) of a partition's day, or undefined for a name that is not a day partition. */
export function partitionStart(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}

/** Creates and drops the day partitions of the raw samples table. */
export class SamplePartitions {
  /** Day starts this node has created or found: `ensure` is one comparison per call once the days exist. */
  readonly #known = new Set<number>();

  constructor(private readonly db: SqlDb) {}

  /** The day partitions that exist, by day start, oldest first. */
  async list(): Promise<{ name: string; start: number }[]> {
    const rows = await this.db.all<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'metric_samples'::regclass`,
    );
    return rows
      .map((r) => ({ name: r.name, start: partitionStart(r.name) }))
      .filter((p): p is { name: string; start: number } => p.start !== undefined)
      .sort((a, b) => a.start - b.start);
  }

  /**
   * Creates the partitions of the day of `now` and the DAYS_AHEAD days after it that are missing (not earlier days:
   * retention may just have dropped them; a late sample of one waits in the default partition).
   */
  async ensure(now: number): Promise<void> {
    const today = Math.floor(now / DAY) * DAY;
    const wanted: number[] = [];
    for (let d = today; d <= today + DAYS_AHEAD * DAY; d += DAY) if (!this.#known.has(d)) wanted.push(d);
    if (!wanted.length) return;
    await this.db.transaction(async () => {
      await this.db.get('SELECT pg_advisory_xact_lock(?) AS locked', [PARTITION_LOCK]);
      const existing = new Set((await this.list()).map((p) => p.start));
      for (const start of wanted) if (!existing.has(start)) await this.#create(start);
    });
    for (const d of wanted) this.#known.add(d);
  }

  /**
   * One day's partition, with the rows of that day the default partition holds moved in: PostgreSQL refuses a new
   * partition while the default one has rows in its range. Numbers in the DDL are computed integers (DDL takes no
   * parameters).
   */
  async #create(start: number): Promise<void> {
    const name = partitionName(start);
    const end = start + DAY;
    await this.db.exec(`CREATE TABLE ${name} (LIKE metric_samples INCLUDING DEFAULTS)`);
    await this.db.run(
      `WITH moved AS (DELETE FROM metric_samples_default WHERE ts >= ? AND ts < ? RETURNING series_id, ts, value)
       INSERT INTO ${name} (series_id, ts, value) SELECT series_id, ts, value FROM moved`,
      [start, end],
    );
    await this.db.exec(`ALTER TABLE metric_samples ATTACH PARTITION ${name} FOR VALUES FROM (${start}) TO (${end})`);
  }

  /**
   * Drops every day partition that ends at or before `horizon` (whole days only: a day straddling it stays until it
   * has passed), and deletes the default partition's rows older than `horizon`. Returns the partitions dropped.
   */
  async dropBefore(horizon: number): Promise<string[]> {
    return this.db.transaction(async () => {
      await this.db.get('SELECT pg_advisory_xact_lock(?) AS locked', [PARTITION_LOCK]);
      const old = (await this.list()).filter((p) => p.start + DAY <= horizon);
      for (const p of old) {
        await this.db.exec(`DROP TABLE ${p.name}`);
        this.#known.delete(p.start);
      }
      await this.db.run('DELETE FROM metric_samples_default WHERE ts < ?', [horizon]);
      return old.map((p) => p.name);
    });
  }
}
