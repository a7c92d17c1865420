/**
 * A workstation's request arriving in a stream batch while a technician's phone call is being filed, on the wiring
 * production uses (the harness: wireCore on real SQLite). The phone filing holds the requests' one-at-a-time turn
 * and is held mid-way by the notifier (as a slow notification channel would); the stream batch then opens its
 * transaction and reaches the `request.file` sink. Both tickets must be filed: the sink must not wait for the turn
 * inside the batch's transaction while the phone filing waits for that transaction to end.
 */
import type { RequestFile } from '@outpost/shared';
import { expect, it } from 'vitest';
import { harness } from '../incidents/harness.fixture.js';

const T0 = Date.parse('2026-12-04T10:00:00Z');

/** Resolves with `p`, or rejects naming `what` when it has not settled by the deadline. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not done after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Resolves once `cond` holds, polling each turn of the event loop; rejects after the deadline. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not seen after ${ms} ms`);
    await new Promise((r) => setImmediate(r));
  }
}

it('files a workstation request from a stream batch while a phone filing is under way', async () => {
  const h = await harness({ start: T0 });
  const { core } = h;
  // An enrolled machine of the client (straight through the agents store: the handshake is tested elsewhere).
  const { info } = await core.agents.createEnrollmentToken(
    { kind: 'system', id: 'system' },
    { siteId: h.site.id, expiresInHours: 1, maxUses: 1, note: '' },
  );
  const enrolled = await core.agents.store.enroll(
    info.id,
    T0,
    () => true,
    (t) => ({
      id: `ag_${'desk'.padEnd(24, '0')}`,
      clientId: t.clientId,
      siteId: t.siteId,
      publicKey: 'pk-desk',
      facts: {
        hostname: 'desk',
        os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1', arch: 'x64' },
        cpu: { model: 'cpu', cores: 2 },
        memoryBytes: 2e9,
      },
      agentVersion: '1.0.0',
      protocolVersion: 1,
      enrolledAt: T0,
      enrollmentTokenId: t.id,
      lastSeenAt: null,
      lastIp: null,
      revokedAt: null,
      tags: [],
    }),
  );
  const agentId = enrolled.agent!.id;

  // The notifier holds the phone filing until released, after its ticket is written and before its request row is.
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const handed: string[] = [];
  core.incidents.setNotifier({
    notify: async (n) => {
      handed.push(n.incident.id);
      await held;
    },
  });
  const tech = await h.user('tech');
  const byPhone = core.requests.file({
    clientId: h.client.id,
    channel: 'phone',
    text: 'The printer on the second floor is jammed',
    requester: { name: 'Ann' },
    actor: tech,
  });
  await until(() => handed.length === 1, 10_000, 'the phone ticket handed to the notifier');

  const acks: number[] = [];
  const peer = {
    agentId,
    cursor: 0,
    ack: (seq: number) => acks.push(seq),
    fail: (err: Error) => {
      throw err;
    },
  };
  const msg: RequestFile = {
    type: 'request.file',
    seq: 1,
    time: T0,
    ref: 'r1',
    text: 'My screen stays black',
    user: { name: 'bob' },
    snapshot: { disks: [], memory: { totalBytes: 8e9, freeBytes: 1e9 }, topProcesses: [] },
  };
  core.ingest.submit(peer, msg);
  // The ingest flushes on the next turn of the event loop: after this one, its batch has reached the sink.
  await new Promise((r) => setImmediate(r));
  release();

  const phone = await within(byPhone, 15_000, 'the phone filing');
  await within(core.ingest.idle(), 15_000, 'the stream batch');
  expect(phone.request).toMatchObject({ channel: 'phone', requesterName: 'Ann' });
  expect(acks).toEqual([1]);
  await until(() => handed.length === 2, 15_000, 'the workstation ticket handed to the notifier');
  const fromDesk = await core.requests.fromAgent(agentId, 'r1');
  expect(fromDesk).toMatchObject({ channel: 'agent', agentId, osUser: 'bob', text: 'My screen stays black' });
  expect(await core.incidents.get(fromDesk!.incidentId)).toMatchObject({ clientId: h.client.id, channel: 'agent' });
});
