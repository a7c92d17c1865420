/** `storage.url`: checked by the schema; every concern served on PostgreSQL; a concern without a port refused by name. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../app.js';
import { checkSettings } from '../config.js';
import { PORTED_CONCERNS, refuseUnportedStorage, unportedConcerns } from './storage.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const URL = 'postgres://outpost:s3cret@db.example:5432/outpost';

describe('storage configuration', () => {
  it('defaults to the embedded SQLite file and accepts a postgres URL', () => {
    expect(checkSettings({}).storage).toEqual({});
    expect(checkSettings({ storage: { url: URL } }).storage.url).toBe(URL);
  });

  it('refuses anything else with a coded error naming the field', () => {
    for (const storage of [{ url: 'mysql://x/y' }, { url: 42 }, { path: '/tmp/x' }])
      expect(() => checkSettings({ storage }, 'outpost.yaml')).toThrow(
        expect.objectContaining({
          code: 'OUTPOST_E_CONFIG_INVALID',
          details: expect.objectContaining({ path: expect.stringMatching(/^\/storage/) }),
        }),
      );
  });

  it('serves every concern of this build on PostgreSQL, and refuses a concern without a port, naming it, never the URL', () => {
    // Every migration's concern runs on SqlDb: nothing stops `storage.url` (test/e2e/postgres-serve runs the collector).
    expect(unportedConcerns(MIGRATIONS)).toEqual([]);
    for (const c of PORTED_CONCERNS) expect(MIGRATIONS.some((m) => m.concern === c)).toBe(true);
    expect(() => refuseUnportedStorage({ url: URL }, MIGRATIONS)).not.toThrow();
    // A concern added later without a port is refused before anything opens.
    const later = [...MIGRATIONS, { id: '9999_later', concern: 'later', sql: 'CREATE TABLE later (id INTEGER)' }];
    let err: { code: string; message: string; details: { notPorted: string[] } } | undefined;
    try {
      refuseUnportedStorage({ url: URL }, later);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.code).toBe('OUTPOST_E_CONFIG_INVALID');
    expect(err?.details.notPorted).toEqual(['later']);
    expect(err?.message).toContain('later');
    expect(err?.message).not.toContain('s3cret');
    expect(() => refuseUnportedStorage({}, later)).not.toThrow();
  });
});
