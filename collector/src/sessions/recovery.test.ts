/**
 * Orphan recovery with several collector nodes on one database, on SQLite and PostgreSQL: each session row carries
 * the node holding it; a node that starts ends its own orphans (never a session it holds) and those of nodes that
 * are gone, never a live node's; two nodes recovering at once end (and audit) each orphan once; alone, every
 * unfinished row is an orphan, as before nodes existed.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gunzipSync, gzipSync } from 'node:zlib';
import pino from 'pino';
import { expect, it } from 'vitest';
import { AuditLog, auditMigrations } from '../audit/index.js';
import { describeStores } from '../db/dialects.fixture.js';
import type { SqlDb } from '../db/index.js';
import { DeploymentStore, deploymentMigrations, SharedRecordings } from '../deployment/index.js';
import { type RecoveryDeps, recoverGoneNodes, recoverOwnOrphans } from './recovery.js';
import { type OpenedSession, SessionsStore, sessionsMigrations } from './store.js';

const logger = pino({ level: 'silent' });
const clock = { now: () => 1_000_000 };
const dataDir = mkdtempSync(join(tmpdir(), 'outpost-recovery-'));

const opened = (id: string): OpenedSession => ({
  id,
  kind: 'shell',
  agentId: 'ag_1',
  clientId: 'cl_1',
  siteId: 'si_1',
  userId: 'us_1',
  userEmail: 'tech@example.com',
  elevated: false,
  path: null,
  startedAt: 100,
  endedAt: null,
  exitCode: null,
  closeReason: null,
  cols: 80,
  rows: 24,
  recordingFile: null,
  recordingBytes: null,
  recordingStatus: 'none',
  bytesOut: 0,
  bytesIn: 0,
  sha256: null,
});

const deps = (db: SqlDb, node: string, live: string[] = []): RecoveryDeps => ({
  node,
  store: new SessionsStore(db, node),
  audit: new AuditLog(db, clock, logger),
  clock,
  logger,
  dataDir,
  isLive: (id) => live.includes(id),
});

/** Sessions opened by three nodes, plus one row written before rows had a node. */
async function seed(db: SqlDb): Promise<void> {
  for (const [node, ids] of [
    ['node-a', ['a_live', 'a_orphan']],
    ['node-b', ['b_live']],
    ['node-c', ['c_orphan_1', 'c_orphan_2']],
  ] as const)
    for (const id of ids) await new SessionsStore(db, node).insert(opened(id));
  await new SessionsStore(db, 'x').insert(opened('legacy'));
  await db.run('UPDATE sessions SET node = NULL WHERE id = ?', ['legacy']);
}

const unfinished = async (db: SqlDb) => (await new SessionsStore(db).unfinished()).map((r) => r.id).sort();
const closeAudits = async (db: SqlDb) =>
  (
    await db.all<{ session_id: string }>(
      "SELECT session_id FROM audit_log WHERE type = 'shell.close' AND code = 'OUTPOST_E_UNAVAILABLE'",
    )
  )
    .map((r) => r.session_id)
    .sort();

describeStores(
  'orphan recovery per node',
  [...auditMigrations, ...sessionsMigrations, ...deploymentMigrations],
  (db) => {
    it('records the node on each row and selects unfinished rows by node', async () => {
      await seed(db());
      const s = new SessionsStore(db(), 'node-a');
      expect((await s.get('a_live'))?.node).toBe('node-a');
      expect((await s.get('legacy'))?.node).toBeNull();
      expect(await s.unfinishedNodes()).toEqual(expect.arrayContaining([null, 'node-a', 'node-b', 'node-c']));
      expect((await s.unfinishedNodes()).length).toBe(4);
      expect((await s.unfinished(['node-c', null])).map((r) => r.id)).toEqual(['c_orphan_1', 'c_orphan_2', 'legacy']);
      expect(await s.unfinished([])).toEqual([]);
    });

    it("a starting node ends its own orphans, never a session it holds, nor another node's", async () => {
      await seed(db());
      expect(await recoverOwnOrphans(deps(db(), 'node-a', ['a_live']), false)).toBe(1);
      expect(await unfinished(db())).toEqual(['a_live', 'b_live', 'c_orphan_1', 'c_orphan_2', 'legacy']);
      const row = await new SessionsStore(db()).get('a_orphan');
      expect(row).toMatchObject({
        outcome: 'ended',
        outcomeCode: 'OUTPOST_E_UNAVAILABLE',
        closeReason: 'collector restarted',
      });
      expect(await closeAudits(db())).toEqual(['a_orphan']);
    });

    it('ends the sessions of nodes that are gone and of rows without a node, never a live node’s', async () => {
      await seed(db());
      expect(await recoverGoneNodes(deps(db(), 'node-a', ['a_live']), new Set(['node-a', 'node-b']))).toBe(3);
      // node-a's own rows are not this pass's: its own orphans are ended by `recoverOwnOrphans`, its live one kept.
      expect(await unfinished(db())).toEqual(['a_live', 'a_orphan', 'b_live']);
      expect(await closeAudits(db())).toEqual(['c_orphan_1', 'c_orphan_2', 'legacy']);
    });

    it('two nodes recovering a gone node at once end and audit each orphan once', async () => {
      await seed(db());
      const live = new Set(['node-a', 'node-b']);
      const counts = await Promise.all([
        recoverGoneNodes(deps(db(), 'node-a'), live),
        recoverGoneNodes(deps(db(), 'node-b'), live),
      ]);
      expect(counts[0] + counts[1]).toBe(3);
      expect(await closeAudits(db())).toEqual(['c_orphan_1', 'c_orphan_2', 'legacy']);
      expect(await unfinished(db())).toEqual(['a_live', 'a_orphan', 'b_live']);
    });

    it("stores a restarted node's salvaged orphan recording for the other nodes (one data directory each)", async () => {
      const rel = join('recordings', 'a_cut.cast.gz');
      mkdirSync(join(dataDir, 'recordings'), { recursive: true });
      // What a SIGKILL leaves: the header, one whole event, and one cut mid-line.
      const header = JSON.stringify({ version: 2, width: 80, height: 24 });
      writeFileSync(join(dataDir, rel), gzipSync(`${header}\n[0.5,"o","hello\\r\\n"]\n[0.9,"o","wor`));
      await new SessionsStore(db(), 'node-a').insert({
        ...opened('a_cut'),
        recordingFile: rel,
        recordingStatus: 'recording',
      });
      const shared = new SharedRecordings(new DeploymentStore(db()), dataDir);
      expect(await recoverOwnOrphans({ ...deps(db(), 'node-a'), recordings: shared }, false)).toBe(1);
      expect((await new SessionsStore(db()).get('a_cut'))?.recordingStatus).toBe('truncated');
      // Another node (another data directory) reads it from the database: the whole event, not the cut one.
      const stored = await new SharedRecordings(new DeploymentStore(db()), '/nonexistent').read(rel);
      expect(gunzipSync(await buffer(stored!)).toString()).toBe(`${header}\n[0.5,"o","hello\\r\\n"]\n`);
    });

    it('alone (no other nodes), every unfinished row not held is an orphan', async () => {
      await seed(db());
      expect(await recoverOwnOrphans(deps(db(), 'node-a', ['a_live']), true)).toBe(5);
      expect(await unfinished(db())).toEqual(['a_live']);
    });
  },
);
