/**
 * The incidents → notifications handoff across a crash, on a real SQLite file: a notice is written with the ticket
 * change; a notifier that dies before or after queueing leaves it pending; new service instances on the same file
 * (a restart) hand it off again and the receiver gets it exactly once. Order per incident survives a failed handoff.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../app.js';
import { AuditLog } from '../audit/index.js';
import type { Actor } from '../auth/index.js';
import { migrate, openDatabase, sqlOf } from '../db/index.js';
import { type Harness, harness, wired } from '../incidents/harness.fixture.js';
import { IncidentService, type NoticeEvent } from '../incidents/index.js';
import type { Notifications } from './service.js';

const ADMIN: Actor = { kind: 'system', id: 'system' };
const T0 = Date.parse('2026-01-13T10:00:00+01:00');
const OPTS = { pollMs: 3_600_000, retryBaseMs: 1_000, retryMaxMs: 8_000, failureIncidentAfter: 3, timeoutMs: 2_000 };
const logger = pino({ level: 'silent' });

const dir = mkdtempSync(join(tmpdir(), 'outpost-handoff-'));
const got: { delivery: string; event: string; incidentId: string }[] = [];
const receiver: Server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string; incident: { id: string } };
    got.push({ delivery: String(req.headers['x-outpost-delivery']), event: body.event, incidentId: body.incident.id });
    res.writeHead(204).end();
  });
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => receiver.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Incidents and notifications as a restarted collector builds them: new instances on the same database file. */
/** The collector coming back on the same file: the production wiring again, with the test's delivery timings. */
async function restart(file: string, clock: { now(): number }) {
  const db = openDatabase(file);
  migrate(db, MIGRATIONS);
  const { incidents, notifications } = await wired({ db, clock, settings: { notifications: OPTS } });
  return { db, incidents, notifications };
}

/** A first run: the harness on a file, a webhook channel routed for every event. */
async function firstRun(name: string): Promise<{ h: Harness; file: string; notifications: Notifications }> {
  const file = join(dir, `${name}.db`);
  const h = await harness({ start: T0, file, settings: { notifications: OPTS } });
  const notifications = h.core.notifications;
  const { channel } = await notifications.createChannel(ADMIN, {
    kind: 'webhook',
    name: name,
    clientId: h.client.id,
    url: `${url}/${name}`,
    secret: 'k',
  });
  await notifications.createRoute(ADMIN, { channelId: channel.id });
  return { h, file, notifications };
}

const manual = (h: Harness, title: string) => ({
  clientId: h.client.id,
  siteId: h.site.id,
  title,
  type: 'printing',
  criticality: 'P3' as const,
});

describe('incident notices across a crash', () => {
  it('a notice the notifier never took is delivered once after a restart', async () => {
    const { h, file } = await firstRun('before');
    // The process dies between the ticket commit and the handoff: the notifier never returns.
    h.incidents.setNotifier({
      notify: async () => {
        throw new Error('process killed');
      },
    });
    const inc = await h.incidents.open(ADMIN, manual(h, 'Printer offline'));
    expect((await h.incidents.get(inc.id))?.status).toBe('open');

    const again = await restart(file, h.clock);
    h.clock.t += 60_000;
    // The restarted collector hands off what was left at start, then delivers it.
    again.incidents.start(3_600_000, 3_600_000);
    await again.incidents.stop();
    expect((await again.notifications.deliverDue()).sent).toBe(1);
    expect(got.filter((g) => g.incidentId === inc.id)).toEqual([expect.objectContaining({ event: 'opened' })]);
    // Nothing left to hand off or to send: it arrived once.
    expect(await again.incidents.handOffNotices()).toBe(0);
    h.clock.t += 3_600_000;
    expect((await again.notifications.deliverDue()).sent).toBe(0);
    expect(got.filter((g) => g.incidentId === inc.id)).toHaveLength(1);
  });

  it('a notice queued but not marked handed off before the crash is not queued twice', async () => {
    const { h, file, notifications } = await firstRun('after');
    // The notifier queues the message, then the process dies before incidents records the handoff.
    h.incidents.setNotifier({
      notify: async (n) => {
        await notifications.notify(n);
        throw new Error('process killed');
      },
    });
    const inc = await h.incidents.open(ADMIN, manual(h, 'Scanner offline'));
    expect(await notifications.listOutbox({ pending: true, limit: 10 })).toHaveLength(1);

    const again = await restart(file, h.clock);
    // A restart retries the handoff; the outbox keeps one row for the notice and channel.
    h.clock.t += 60_000;
    expect(await again.incidents.handOffNotices()).toBe(1);
    expect(await again.notifications.listOutbox({ pending: true, limit: 10 })).toHaveLength(1);
    expect((await again.notifications.deliverDue()).sent).toBe(1);
    expect(got.filter((g) => g.incidentId === inc.id).map((g) => g.event)).toEqual(['opened']);
  });

  it('keeps the order per incident when a handoff fails, and waits while no notifier is bound', async () => {
    const file = join(dir, 'order.db');
    const h = await harness({ start: T0, file });
    const seen: { event: NoticeEvent; incidentId: string }[] = [];
    let failing = true;
    h.incidents.setNotifier({
      notify: async (n) => {
        if (failing) throw new Error('notifications unavailable');
        seen.push({ event: n.event, incidentId: n.incident.id });
      },
    });
    const a = await h.incidents.open(ADMIN, manual(h, 'A'));
    failing = false;
    // A's "opened" failed: its "acknowledged" must not overtake it; B is not held back by A.
    await h.incidents.acknowledge(ADMIN, a.id);
    const b = await h.incidents.open(ADMIN, manual(h, 'B'));
    expect(seen).toEqual([{ event: 'opened', incidentId: b.id }]);
    // After the backoff, A's notices go, in order.
    h.clock.t += 1_000;
    expect(await h.incidents.handOffNotices()).toBe(2);
    expect(seen.slice(1)).toEqual([
      { event: 'opened', incidentId: a.id },
      { event: 'acknowledged', incidentId: a.id },
    ]);

    // A restarted collector before notifications binds: notices wait, then go once it does.
    const again = await restart(file, h.clock);
    const waiting = new IncidentService({
      db: sqlOf(again.db),
      audit: new AuditLog(sqlOf(again.db), h.clock, logger),
      clock: h.clock,
      logger,
      sla: h.contracts,
      deps: {
        siteClient: async () => h.client.id,
        agentPlace: async () => undefined,
        member: async () => ({ email: 'a@b.c' }),
      },
      options: { autoResolveHoldMs: 300_000, reopenWindowMs: 86_400_000 },
    });
    await waiting.resolve(ADMIN, b.id, 'toner replaced', 'fixed');
    expect(await waiting.handOffNotices()).toBe(0);
    const late: string[] = [];
    waiting.setNotifier({ notify: async (n) => void late.push(`${n.incident.id}:${n.event}`) });
    expect(await waiting.handOffNotices()).toBe(1);
    expect(late).toEqual([`${b.id}:resolved`]);
  });
});
