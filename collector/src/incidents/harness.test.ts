/**
 * The incidents harness is the production wiring (`wireCore`), not a copy of it: a user disabled through the auth
 * concern is refused as an assignee exactly as `outpost serve` refuses them (an earlier copy of the wiring accepted
 * them), and the harness holds the same wired concerns as `buildApp`.
 */
import { OutpostError } from '@outpost/shared';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, type Collector } from '../app.js';
import { checkSettings } from '../config.js';
import { harness } from './harness.fixture.js';

const T0 = Date.UTC(2026, 0, 13, 9, 0);
const SYSTEM = { kind: 'system', id: 'system' } as const;

let app: Collector | undefined;
afterAll(async () => {
  await app?.close();
});

describe('the incidents harness', () => {
  it('refuses a disabled user as an assignee, as production does, and accepts them again once enabled', async () => {
    const h = await harness({ start: T0 });
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const inc = await h.incidents.open(alice, {
      clientId: h.client.id,
      siteId: h.site.id,
      title: 'Mail down',
      type: 'availability',
      criticality: 'P2',
      tier: 1,
    });
    await h.auth.credentials.setUserDisabled(SYSTEM, bob.id, true);
    const refused = await h.incidents.assign(alice, inc.id, bob.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(OutpostError);
    // The same answer as a user who does not exist: a disabled account is not a person to hand work to.
    expect((refused as OutpostError).code).toBe('OUTPOST_E_BAD_REQUEST');
    expect((await h.incidents.get(inc.id))?.assignee).toBeNull();

    await h.auth.credentials.setUserDisabled(SYSTEM, bob.id, false);
    expect((await h.incidents.assign(alice, inc.id, bob.id)).assignee).toBe(bob.id);
    h.db.close();
  });

  it('holds every concern buildApp wires, built by the same function', async () => {
    const h = await harness({ start: T0 });
    const settings = checkSettings({ dataDir: ':memory:', api: { host: '127.0.0.1', port: 0 } });
    app = await buildApp({ ...settings, clock: { now: () => T0 }, logger: pino({ level: 'silent' }) });
    const appParts = new Map<string, unknown>(Object.entries(app));
    const internal = ['components', 'metricFamilies', 'ports', 'checkpoint'];
    const wired = Object.entries(h.core).filter(([k]) => !internal.includes(k));
    expect(wired.length).toBeGreaterThan(20);
    // Same parts, of the same classes, on both sides (a copy of the wiring could leave one out or use a stand-in).
    for (const [name, part] of wired) {
      expect(appParts.has(name), name).toBe(true);
      // A part this configuration leaves out (the e-mail receiver without `requests.email`) is out on both sides.
      if (part === undefined || part === null) {
        expect(appParts.get(name), name).toBe(part);
        continue;
      }
      expect(Object.getPrototypeOf(appParts.get(name)), name).toBe(Object.getPrototypeOf(part));
    }
    h.db.close();
  });

  it('scrapes the metric families each concern brought (the root registers none itself), then closes', async () => {
    if (!app) throw new Error('the previous test builds the app');
    const text = app.metrics.render();
    for (const family of [
      'outpost_agents_connected 0',
      'outpost_agent_pong_timeouts_total 0',
      'outpost_stream_committed_total 0',
      'outpost_notifications_sent_total 0',
      'outpost_process_resident_memory_bytes',
    ])
      expect(text).toContain(family);
    await app.close();
    app = undefined;
  });
});
