/**
 * The sessions store on SQLite and PostgreSQL: a session as opened, its first end kept (a second finish changes
 * nothing), the unfinished ones for recovery, and lists limited to the kinds and clients a caller may see.
 */
import { expect, it } from 'vitest';
import { describeStores } from '../db/dialects.fixture.js';
import { type OpenedSession, SessionsStore, sessionsMigrations } from './store.js';

type Opened = OpenedSession;
const opened = (id: string, o: Partial<Opened> = {}): Opened => ({
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
  recordingFile: `rec/${id}.cast`,
  recordingBytes: null,
  recordingStatus: 'recording',
  bytesOut: 0,
  bytesIn: 0,
  sha256: null,
  ...o,
});

const end = {
  endedAt: 200,
  exitCode: 0,
  closeReason: 'done',
  outcome: 'ok' as const,
  outcomeCode: null,
  recordingStatus: 'ok' as const,
  recordingBytes: 4096,
  bytesOut: 2 ** 40,
  bytesIn: 12,
};

describeStores('sessions store', sessionsMigrations, (db) => {
  it('stores a session as opened and keeps its first end', async () => {
    const s = new SessionsStore(db());
    await s.insert(opened('se_1'));
    expect(await s.get('se_1')).toEqual({ ...opened('se_1'), outcome: null, outcomeCode: null, node: 'local' });
    expect(await s.finish('se_1', { ...end, sha256: 'ab'.repeat(32) })).toBe(true);
    expect(
      await s.finish('se_1', { ...end, endedAt: 300, closeReason: 'again', outcome: 'failed', outcomeCode: 'X' }),
    ).toBe(false);
    expect(await s.get('se_1')).toEqual({
      ...opened('se_1'),
      ...end,
      sha256: 'ab'.repeat(32),
      node: 'local',
    });
    expect(await s.get('se_none')).toBeUndefined();
  });

  it('lists the unfinished sessions, oldest first', async () => {
    const s = new SessionsStore(db());
    await s.insert(opened('se_b', { startedAt: 300 }));
    await s.insert(opened('se_a', { startedAt: 100 }));
    await s.insert(opened('se_c', { startedAt: 200 }));
    await s.finish('se_c', end);
    expect((await s.unfinished()).map((r) => r.id)).toEqual(['se_a', 'se_b']);
  });

  it('lists only the kinds and clients a caller may see, newest first, up to a limit', async () => {
    const s = new SessionsStore(db());
    await s.insert(opened('sh_1', { startedAt: 1 }));
    await s.insert(opened('el_1', { elevated: true, startedAt: 2 }));
    await s.insert(opened('dl_2', { kind: 'download', clientId: 'cl_2', path: '/etc/hosts', startedAt: 3 }));
    await s.insert(opened('up_1', { kind: 'upload', agentId: 'ag_2', path: 'C:\\x', startedAt: 4 }));
    await s.insert(opened('sh_2', { clientId: 'cl_2', startedAt: 5 }));
    const ids = async (q: Parameters<SessionsStore['list']>[0]) => (await s.list(q)).map((r) => r.id);
    const all = { shell: undefined, elevated: undefined, download: undefined, upload: undefined };
    expect(await ids({ scopes: all, limit: 10 })).toEqual(['sh_2', 'up_1', 'dl_2', 'el_1', 'sh_1']);
    expect(await ids({ scopes: all, limit: 2 })).toEqual(['sh_2', 'up_1']);
    expect(await ids({ scopes: { shell: ['cl_1'] }, limit: 10 })).toEqual(['sh_1']);
    expect(await ids({ scopes: { elevated: ['cl_1'], download: ['cl_1', 'cl_2'] }, limit: 10 })).toEqual([
      'dl_2',
      'el_1',
    ]);
    expect(await ids({ scopes: { shell: [], upload: [] }, limit: 10 })).toEqual([]);
    expect(await ids({ scopes: {}, limit: 10 })).toEqual([]);
    expect(await ids({ scopes: all, agentId: 'ag_2', limit: 10 })).toEqual(['up_1']);
  });
});
