/** `storage.url`: checked by the schema, and a PostgreSQL URL refused at start, naming what is not yet ported. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, MIGRATIONS } from '../app.js';
import { checkSettings } from '../config.js';
import { PORTED_CONCERNS, unportedConcerns } from './storage.js';

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

  it('refuses to start on PostgreSQL while concerns are not ported, naming them, never the URL, touching nothing', async () => {
    const dataDir = join(dir, 'data');
    const settings = checkSettings({
      dataDir,
      storage: { url: URL },
      tls: { enabled: false },
      log: { level: 'silent' },
    });
    const start = buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
    const err = await start.then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; details: { notPorted: string[] } },
    );
    expect(err?.code).toBe('OUTPOST_E_CONFIG_INVALID');
    const missing = unportedConcerns(MIGRATIONS);
    expect(missing.length).toBeGreaterThan(0);
    expect(missing).not.toContain('events');
    expect(err?.details.notPorted).toEqual(missing);
    for (const c of missing) expect(err?.message).toContain(c);
    expect(err?.message).not.toContain('s3cret');
    expect(existsSync(join(dataDir, 'outpost.db'))).toBe(false);
    for (const c of PORTED_CONCERNS) expect(MIGRATIONS.some((m) => m.concern === c)).toBe(true);
  });
});
