/**
 * All SQL of the metrics concern. Raw samples go to an append-only table whose only index is on time (monotonic, so
 * inserts always land on the rightmost page): an (agent, metric, ts) index made inserts 20–40× slower on this machine
 * (docs/0003-detection.md, "Storage"). Per-series reads use the minute and hour roll-ups, keyed by (series, bucket).
 */
import { type Db, type Migration, prepared } from '../db/index.js';

/** Rows per multi-row sample insert. */
const INSERT_ROWS = 200;
const INSERT_MANY_SQL = `INSERT INTO metric_samples (series_id, ts, value) VALUES ${Array.from({ length: INSERT_ROWS }, () => '(?, ?, ?)').join(', ')}`;

/** The metrics concern's schema (ids 0200–0299). */
export const metricsMigrations: Migration[] = [
  // `detection_state` was created here too until detection got its own store: detection/store.ts (0251) now declares
  // it, with the same definition, for databases created since.
  {
    id: '0200_metrics',
    concern: 'metrics',
    sql: `
      CREATE TABLE metric_series (
        id INTEGER PRIMARY KEY,
        agent_id TEXT NOT NULL,
        name TEXT NOT NULL,
        UNIQUE (agent_id, name)
      );
      CREATE TABLE metric_samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);
      CREATE INDEX metric_samples_ts ON metric_samples (ts);
      CREATE TABLE metric_batches (agent_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (agent_id, seq)) WITHOUT ROWID;
      CREATE TABLE metric_rollups (
        resolution INTEGER NOT NULL,
        series_id INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        n INTEGER NOT NULL,
        sum REAL NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        PRIMARY KEY (resolution, series_id, bucket)
      ) WITHOUT ROWID;
      CREATE TABLE metric_rollup_marks (resolution INTEGER PRIMARY KEY, done_until INTEGER NOT NULL);
    `,
  },
];

/** One stored sample. */
export interface SampleRow {
  seriesId: number;
  ts: number;
  value: number;
}

/** A roll-up row. */
export interface RollupRow {
  bucket: number;
  n: number;
  avg: number;
  min: number;
  max: number;
}

/** Minute and hour resolutions, in ms. */
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/** Store functions of the metrics concern (synchronous inside; async at the surface for a future PostgreSQL store). */
export class MetricsStore {
  readonly #series = new Map<string, number>();

  constructor(private readonly db: Db) {}

  /** The id of a series, created on first use and cached (called inside transactions: stays synchronous, private). */
  #seriesId(agentId: string, name: string): number {
    const k = `${agentId}\u0000${name}`;
    const known = this.#series.get(k);
    if (known !== undefined) return known;
    prepared(this.db, 'INSERT OR IGNORE INTO metric_series (agent_id, name) VALUES (?, ?)').run(agentId, name);
    const row = prepared<[string, string], { id: number }>(
      this.db,
      'SELECT id FROM metric_series WHERE agent_id = ? AND name = ?',
    ).get(agentId, name)!;
    this.#series.set(k, row.id);
    return row.id;
  }

  /**
   * Stores batches in one transaction, each once per (agent, seq): returns the batches that were new (a resend after a
   * crash between this commit and the stream cursor's is skipped, so samples are never stored or detected twice).
   */
  async insertBatches<
    T extends { agentId: string; seq: number; samples: { time: number; values: Record<string, number> }[] },
  >(batches: readonly T[]): Promise<T[]> {
    const mark = prepared(this.db, 'INSERT OR IGNORE INTO metric_batches (agent_id, seq) VALUES (?, ?)');
    const insertOne = prepared(this.db, 'INSERT INTO metric_samples (series_id, ts, value) VALUES (?, ?, ?)');
    const insertMany = prepared(this.db, INSERT_MANY_SQL);
    const fresh: T[] = [];
    // Rows go in INSERT_ROWS at a time: one statement call per row costs more in the JS → SQLite crossing than the
    // row costs SQLite (≈2× the throughput of a row-at-a-time loop).
    const params: number[] = [];
    this.db.transaction(() => {
      for (const b of batches) {
        if (mark.run(b.agentId, b.seq).changes === 0) continue;
        fresh.push(b);
        for (const s of b.samples) {
          for (const name in s.values) {
            const v = s.values[name]!;
            if (!Number.isFinite(v)) continue;
            params.push(this.#seriesId(b.agentId, name), s.time, v);
            if (params.length === INSERT_ROWS * 3) {
              insertMany.run(params);
              params.length = 0;
            }
          }
        }
      }
      for (let i = 0; i < params.length; i += 3) insertOne.run(params[i], params[i + 1], params[i + 2]);
    })();
    return fresh;
  }

  /** Raw samples of one series between two times (uses the time index, then filters). */
  async samples(agentId: string, name: string, fromMs: number, toMs: number): Promise<SampleRow[]> {
    const id = this.#seriesId(agentId, name);
    return prepared<[number, number, number], SampleRow>(
      this.db,
      'SELECT series_id AS seriesId, ts, value FROM metric_samples WHERE ts >= ? AND ts < ? AND series_id = ? ORDER BY ts',
    ).all(fromMs, toMs, id);
  }

  /** Roll-ups of one series at a resolution (MINUTE or HOUR). */
  async rollups(agentId: string, name: string, resolution: number, fromMs: number, toMs: number): Promise<RollupRow[]> {
    return prepared<[number, number, number, number], RollupRow>(
      this.db,
      `SELECT bucket, n, sum / n AS avg, min, max FROM metric_rollups
       WHERE resolution = ? AND series_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
    ).all(resolution, this.#seriesId(agentId, name), fromMs, toMs);
  }

  /**
   * Rolls raw samples (minute) and minutes (hour) up to `until` (exclusive, aligned down), then deletes raw samples
   * older than `rawRetentionMs` and roll-ups older than their retention. Idempotent: marks record what is done.
   */
  async rollupAndPrune(until: number, retention: { rawMs: number; minuteMs: number; hourMs: number }): Promise<void> {
    const markOf = (res: number) =>
      prepared<[number], { done_until: number }>(
        this.db,
        'SELECT done_until FROM metric_rollup_marks WHERE resolution = ?',
      ).get(res)?.done_until ?? 0;
    const setMark = prepared(
      this.db,
      'INSERT INTO metric_rollup_marks (resolution, done_until) VALUES (?, ?) ON CONFLICT (resolution) DO UPDATE SET done_until = excluded.done_until',
    );
    this.db.transaction(() => {
      const mEnd = Math.floor(until / MINUTE) * MINUTE;
      const mStart = markOf(MINUTE);
      if (mEnd > mStart) {
        prepared(
          this.db,
          `INSERT INTO metric_rollups (resolution, series_id, bucket, n, sum, min, max)
           SELECT ${MINUTE}, series_id, (ts / ${MINUTE}) * ${MINUTE}, count(*), sum(value), min(value), max(value)
           FROM metric_samples WHERE ts >= ? AND ts < ? GROUP BY series_id, ts / ${MINUTE}
           ON CONFLICT DO UPDATE SET n = n + excluded.n, sum = sum + excluded.sum,
             min = min(min, excluded.min), max = max(max, excluded.max)`,
        ).run(mStart, mEnd);
        setMark.run(MINUTE, mEnd);
      }
      const hEnd = Math.floor(mEnd / HOUR) * HOUR;
      const hStart = markOf(HOUR);
      if (hEnd > hStart) {
        prepared(
          this.db,
          `INSERT INTO metric_rollups (resolution, series_id, bucket, n, sum, min, max)
           SELECT ${HOUR}, series_id, (bucket / ${HOUR}) * ${HOUR}, sum(n), sum(sum), min(min), max(max)
           FROM metric_rollups WHERE resolution = ${MINUTE} AND bucket >= ? AND bucket < ? GROUP BY series_id, bucket / ${HOUR}
           ON CONFLICT DO UPDATE SET n = n + excluded.n, sum = sum + excluded.sum,
             min = min(min, excluded.min), max = max(max, excluded.max)`,
        ).run(hStart, hEnd);
        setMark.run(HOUR, hEnd);
      }
      prepared(this.db, 'DELETE FROM metric_samples WHERE ts < ?').run(until - retention.rawMs);
      prepared(this.db, `DELETE FROM metric_rollups WHERE resolution = ${MINUTE} AND bucket < ?`).run(
        until - retention.minuteMs,
      );
      prepared(this.db, `DELETE FROM metric_rollups WHERE resolution = ${HOUR} AND bucket < ?`).run(
        until - retention.hourMs,
      );
    })();
  }

  /** Every series an agent has reported (read only: creates nothing). */
  async seriesOf(agentId: string): Promise<{ id: number; name: string }[]> {
    return prepared<[string], { id: number; name: string }>(
      this.db,
      'SELECT id, name FROM metric_series WHERE agent_id = ? ORDER BY name',
    ).all(agentId);
  }

  /** Where the roll-up at a resolution is done up to (exclusive): raw samples from there on are not rolled up yet. */
  async rollupMark(resolution: number): Promise<number> {
    return (
      prepared<[number], { done_until: number }>(
        this.db,
        'SELECT done_until FROM metric_rollup_marks WHERE resolution = ?',
      ).get(resolution)?.done_until ?? 0
    );
  }

  /** Roll-ups of several series by id at a resolution, per series then bucket. */
  async rollupsOf(
    ids: readonly number[],
    resolution: number,
    fromMs: number,
    toMs: number,
  ): Promise<(RollupRow & { seriesId: number })[]> {
    if (!ids.length) return [];
    // One statement whatever the number of ids (statements are cached for ever: see `prepared`).
    return prepared<[number, number, number, string], RollupRow & { seriesId: number }>(
      this.db,
      `SELECT series_id AS seriesId, bucket, n, sum / n AS avg, min, max FROM metric_rollups
       WHERE resolution = ? AND bucket >= ? AND bucket < ? AND series_id IN (SELECT value FROM json_each(?))
       ORDER BY series_id, bucket`,
    ).all(resolution, fromMs, toMs, JSON.stringify(ids));
  }

  /** Raw samples of several series by id between two times (one scan of the time index), in time order. */
  async samplesOf(ids: readonly number[], fromMs: number, toMs: number): Promise<SampleRow[]> {
    if (!ids.length) return [];
    return prepared<[number, number, string], SampleRow>(
      this.db,
      `SELECT series_id AS seriesId, ts, value FROM metric_samples
       WHERE ts >= ? AND ts < ? AND series_id IN (SELECT value FROM json_each(?)) ORDER BY ts`,
    ).all(fromMs, toMs, JSON.stringify(ids));
  }
}
