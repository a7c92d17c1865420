/**
 * A single collector on SQLite (buildApp on a temp dir, as `outpost serve` runs it) takes every lease of its once-only
 * work on its first attempt, releases them on close, and takes them back at once when it starts again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { checkSettings } from '../config.js';
import { openDatabase, sqlOf } from '../db/index.js';
import { LeaseStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-leases-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LEASED = ['detection sweeps', 'incidents', 'jobs', 'notifications', 'rollouts'];

async function start() {
  const settings = checkSettings({ dataDir: dir, tls: { enabled: false }, log: { level: 'silent' } });
  return buildApp({ ...settings, clock: { now: () => Date.now() }, logger: pino({ level: 'silent' }) });
}

it('takes every lease at once, releases them on close, and retakes them at once on restart', async () => {
  const first = await start();
  const leases = new LeaseStore(sqlOf(first.db));
  // Held as soon as the start's first database round trips are answered: no renewal period waited for.
  const t0 = Date.now();
  while ((await leases.list()).length < LEASED.length && Date.now() - t0 < 2_000)
    await new Promise((r) => setTimeout(r, 5));
  const held = await leases.list();
  expect(held.map((l) => [l.name, l.holder, l.epoch])).toEqual(LEASED.map((n) => [n, 'local', 1]));
  for (const l of held) expect(l.expiresAt - l.now).toBeGreaterThan(50_000);
  await first.close();
  const closed = sqlOf(openDatabase(join(dir, 'outpost.db')));
  for (const l of await new LeaseStore(closed).list()) expect(l.expiresAt).toBeLessThanOrEqual(l.now);
  await closed.close();

  const second = await start();
  try {
    const again = new LeaseStore(sqlOf(second.db));
    const t1 = Date.now();
    while ((await again.list()).some((l) => l.epoch < 2) && Date.now() - t1 < 2_000)
      await new Promise((r) => setTimeout(r, 5));
    expect((await again.list()).map((l) => [l.name, l.holder, l.epoch])).toEqual(LEASED.map((n) => [n, 'local', 2]));
  } finally {
    await second.close();
  }
}, 60_000);
