/**
 * The notifications API on a collector listening on loopback: secrets never come back, who may see and manage which
 * channel, bad input refused with nothing stored, a failing channel visible with its last error, and every action in
 * the audit log.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiTarget, apiCall } from '@outpost/collector';
import { OutpostError } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { outpostBin, spawnNode, startTestCollector } from '../support/collector.js';

type Row = Record<string, unknown>;

async function refused(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutpostError);
  return (err as OutpostError).code;
}

describe('notifications over the API', () => {
  it('channels, routes, test sends and the outbox: secrets hidden, authorised per client, audited, bad input refused', async () => {
    await using c = await startTestCollector({
      notifications: {
        pollMs: 3_600_000,
        retryBaseMs: 5_000,
        retryMaxMs: 600_000,
        failureIncidentAfter: 5,
        timeoutMs: 5_000,
      },
    });
    // A receiver that refuses everything (HTTP 500), so the test send fails and the channel shows it.
    const sink = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    try {
      const base = { server: c.apiUrl, caFingerprint: c.fingerprint };
      const userOf = async (role: string): Promise<ApiTarget> => {
        const email = `${role}@acme.test`;
        await apiCall(c.admin, 'POST', '/api/v1/users', {
          email,
          name: role,
          password: 'correct horse battery staple',
          roles: [{ role, clientId: c.clientId }],
        });
        const login = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', {
          email,
          password: 'correct horse battery staple',
        });
        return { ...base, token: login.token };
      };
      const tier3 = await userOf('tier3');
      const tier1 = await userOf('tier1');

      const hook = await apiCall<{ channel: Row & { id: string }; secret: string }>(
        c.admin,
        'POST',
        '/api/v1/notifications/channels',
        { kind: 'webhook', name: 'PSA', clientId: c.clientId, url: `${sinkUrl}/hooks/secret-path?token=abc` },
      );
      expect(hook.secret).toMatch(/^[\w-]{43}$/);
      expect(hook.channel).toMatchObject({ kind: 'webhook', target: sinkUrl, state: 'unused', pending: 0 });
      const slack = await apiCall<{ channel: { id: string } }>(c.admin, 'POST', '/api/v1/notifications/channels', {
        kind: 'slack',
        name: 'Ops',
        clientId: null,
        url: 'https://hooks.slack.com/services/T000/B000/XXXXSECRET',
      });
      const mail = await apiCall<{ channel: Row }>(c.admin, 'POST', '/api/v1/notifications/channels', {
        kind: 'email',
        name: 'Desk',
        clientId: c.clientId,
        host: 'smtp.acme.test',
        port: 587,
        user: 'outpost',
        password: 'smtp-password-value',
        from: 'outpost@msp.test',
        to: ['desk@acme.test'],
      });
      expect(mail.channel.target).toBe('smtp://smtp.acme.test:587 → desk@acme.test');

      // Secrets never come back: not the HMAC key, the SMTP password, nor the URL paths that are credentials.
      const all = JSON.stringify(await apiCall(c.admin, 'GET', '/api/v1/notifications/channels'));
      for (const secret of [hook.secret, 'smtp-password-value', 'XXXXSECRET', 'secret-path', 'token=abc'])
        expect(all).not.toContain(secret);

      // A tier-3 technician of the client sees its channels, not the shared one, and manages nothing; tier 1 sees none.
      const seen = await apiCall<{ channels: { id: string }[] }>(tier3, 'GET', '/api/v1/notifications/channels');
      expect(seen.channels.map((x) => x.id).sort()).toEqual([hook.channel.id, mail.channel.id].sort());
      expect(await refused(apiCall(tier3, 'GET', `/api/v1/notifications/channels/${slack.channel.id}`))).toBe(
        'OUTPOST_E_FORBIDDEN',
      );
      expect(await refused(apiCall(tier3, 'DELETE', `/api/v1/notifications/channels/${hook.channel.id}`))).toBe(
        'OUTPOST_E_FORBIDDEN',
      );
      expect(await refused(apiCall(tier1, 'GET', '/api/v1/notifications/channels'))).toBe('OUTPOST_E_FORBIDDEN');

      // Bad input: 400 with a code, nothing stored.
      const bad: [Row, string][] = [
        [{ channelId: 'ch_nope' }, 'OUTPOST_E_CONTRACT_INVALID'],
        [{ channelId: hook.channel.id, minCriticality: 'P9' }, 'OUTPOST_E_BAD_REQUEST'],
        [{ channelId: hook.channel.id, events: ['exploded'] }, 'OUTPOST_E_BAD_REQUEST'],
        [{ channelId: hook.channel.id, tiers: [4] }, 'OUTPOST_E_BAD_REQUEST'],
      ];
      for (const [body, code] of bad)
        expect(await refused(apiCall(c.admin, 'POST', '/api/v1/notifications/routes', body))).toBe(code);
      for (const body of [
        { kind: 'webhook', name: 'x', clientId: null, url: 'ftp://example.test/' },
        { kind: 'sms', name: 'x', clientId: null, url: 'https://example.test/' },
        { kind: 'email', name: 'x', clientId: null, host: 'h', port: 70000, from: 'a@b.c', to: ['d@e.f'] },
        { kind: 'webhook', name: 'x', clientId: null, url: 'https://example.test/', secret: 'short' },
      ])
        expect(await refused(apiCall(c.admin, 'POST', '/api/v1/notifications/channels', body))).toBe(
          'OUTPOST_E_BAD_REQUEST',
        );
      expect((await apiCall<{ routes: Row[] }>(c.admin, 'GET', '/api/v1/notifications/routes')).routes).toHaveLength(0);
      expect(
        (await apiCall<{ channels: Row[] }>(c.admin, 'GET', '/api/v1/notifications/channels')).channels,
      ).toHaveLength(3);

      // A route, an incident: one message queued; a test send fails and the channel shows why.
      const route = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/notifications/routes', {
        channelId: hook.channel.id,
        minCriticality: 'P2',
      });
      await apiCall(c.admin, 'POST', '/api/v1/incidents', {
        clientId: c.clientId,
        siteId: c.siteId,
        title: 'Server room too hot',
        type: 'environment',
        criticality: 'P1',
      });
      await apiCall(c.admin, 'POST', '/api/v1/incidents', {
        clientId: c.clientId,
        siteId: c.siteId,
        title: 'One mouse broken',
        type: 'hardware',
        criticality: 'P4',
      });
      const queued = await apiCall<{ messages: Row[] }>(tier3, 'GET', '/api/v1/notifications/outbox?pending=true');
      expect(queued.messages).toHaveLength(1);
      expect(queued.messages[0]).toMatchObject({ channelId: hook.channel.id, event: 'opened', deliveredAt: null });
      const test = await apiCall<Row>(c.admin, 'POST', `/api/v1/notifications/channels/${hook.channel.id}/test`, {});
      expect(test).toMatchObject({ delivered: false });
      expect(String(test.error)).toContain('HTTP 500');
      expect(await apiCall<Row>(tier3, 'GET', `/api/v1/notifications/channels/${hook.channel.id}`)).toMatchObject({
        state: 'failing',
        consecutiveFailures: 1,
        pending: 2,
        lastError: expect.stringContaining('HTTP 500'),
      });

      // Removing the channel drops its routes and undelivered messages.
      expect(await apiCall<Row>(c.admin, 'DELETE', `/api/v1/notifications/channels/${hook.channel.id}`)).toEqual({
        dropped: 2,
      });
      expect((await apiCall<{ routes: Row[] }>(c.admin, 'GET', '/api/v1/notifications/routes')).routes).toHaveLength(0);
      expect(await refused(apiCall(c.admin, 'GET', `/api/v1/notifications/channels/${hook.channel.id}`))).toBe(
        'OUTPOST_E_NOT_FOUND',
      );

      const audit = await apiCall<{ events: { type: string; result: string; resource: string | null }[] }>(
        c.admin,
        'GET',
        '/api/v1/audit?limit=500',
      );
      const mine = audit.events
        .filter((e) => e.type.startsWith('notification'))
        .map((e) => `${e.type}:${e.result}`)
        .reverse();
      expect(mine).toEqual([
        'notification.channel.create:success',
        'notification.channel.create:success',
        'notification.channel.create:success',
        'notifications.read:denied',
        'notifications.manage:denied',
        'notifications.read:denied',
        'notification.route.create:success',
        'notification.channel.test:success',
        'notification.channel.remove:success',
      ]);
      expect(audit.events.some((e) => e.resource === `route:${route.id}`)).toBe(true);

      // The CLI: add a channel, test it (refused: exit 1 with the reason), route to it.
      const cli = async (...args: string[]) => {
        const p = spawnNode(outpostBin, [
          '--server',
          c.apiUrl,
          '--ca-fingerprint',
          c.fingerprint!,
          '--token',
          c.admin.token!,
          ...args,
        ]);
        return { code: await p.exited, out: p.stdout(), err: p.stderr() };
      };
      const added = await cli(
        'channels',
        'add',
        '--kind',
        'teams',
        '--name',
        'NOC',
        '--client',
        c.clientId,
        '--url',
        `${sinkUrl}/teams/secret`,
      );
      expect(added.code).toBe(0);
      const cliChannel = /^id\s+(ch_[0-9a-f]+)$/m.exec(added.out)![1]!;
      expect(added.out).not.toContain('/teams/secret');
      const tested = await cli('channels', 'test', cliChannel);
      expect(tested.code).toBe(1);
      expect(tested.out).toMatch(/not delivered: .*HTTP 500/);
      const routed = await cli(
        'channels',
        'routes',
        'add',
        '--channel',
        cliChannel,
        '--min',
        'p2',
        '--tiers',
        '1,2',
        '--events',
        'opened,escalated',
      );
      expect(routed.code).toBe(0);
      expect((await apiCall<{ routes: Row[] }>(c.admin, 'GET', '/api/v1/notifications/routes')).routes).toEqual([
        expect.objectContaining({
          channelId: cliChannel,
          clientId: c.clientId,
          minCriticality: 'P2',
          tiers: [1, 2],
          events: ['opened', 'escalated'],
        }),
      ]);
    } finally {
      await new Promise<void>((r) => sink.close(() => r()));
    }
  });
});
