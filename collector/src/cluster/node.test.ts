import { OutpostError } from '@outpost/shared';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { checkSettings, systemClock } from '../config.js';
import { openNodeBus } from './node.js';
import { LocalTransport } from './transport.js';

const logger = pino({ level: 'silent' });

describe('the cluster configuration', () => {
  it('is absent by default: one node on the in-process bus', async () => {
    const settings = checkSettings({});
    expect(settings.cluster).toBeUndefined();
    const node = await openNodeBus({ ...settings, clock: systemClock, logger });
    expect(node.clustered).toBe(false);
    expect(node.transport).toBeInstanceOf(LocalTransport);
    node.start();
    await node.stop();
  });

  it('takes a NATS address, an optional node id and a deployment (default "default")', () => {
    const s = checkSettings({ cluster: { natsUrl: 'nats://10.0.0.5:4222', nodeId: 'node-a' } });
    expect(s.cluster).toEqual({ natsUrl: 'nats://10.0.0.5:4222', nodeId: 'node-a', deployment: 'default' });
  });

  it('refuses what cannot be used on the bus, naming the field', () => {
    const bad = (cluster: unknown) => () => checkSettings({ cluster }, 'outpost.yaml');
    expect(bad({ natsUrl: 'http://x:4222' })).toThrow(/outpost\.yaml: \/cluster\/natsUrl/);
    expect(bad({ natsUrl: 'nats://x:4222', nodeId: 'node.a' })).toThrow(/\/cluster\/nodeId/);
    expect(bad({ natsUrl: 'nats://x:4222', deployment: 'a b' })).toThrow(/\/cluster\/deployment/);
    expect(bad({ natsUrl: 'nats://x:4222', servers: [] })).toThrow(/\/cluster/);
    expect(bad({})).toThrow(/\/cluster\/natsUrl/);
  });

  it('fails the start with OUTPOST_E_BUS_UNAVAILABLE when no NATS server answers', async () => {
    const settings = checkSettings({ cluster: { natsUrl: 'nats://127.0.0.1:1' } });
    const err = await openNodeBus({ ...settings, clock: systemClock, logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('OUTPOST_E_BUS_UNAVAILABLE');
  });
});
