import { describe, expect, it } from 'vitest';
import { agentMessages, collectorMessages } from './messages.js';
import { lastSeqOf, type StreamEvent, type StreamGap } from './stream.js';

const facts = {
  hostname: 'h',
  os: { platform: 'linux', distro: 'Debian', release: '12', kernel: '6.1', arch: 'x64' },
  cpu: { model: 'cpu', cores: 2 },
  memoryBytes: 1,
};
const sig = 'A'.repeat(86);
const agentId = `ag_${'0'.repeat(24)}`;
const valid = {
  helloKey: {
    type: 'agent.hello',
    protocolVersion: 1,
    agentVersion: '1.0.0',
    auth: { method: 'key', agentId, signature: sig },
    facts,
  },
  helloEnroll: {
    type: 'agent.hello',
    protocolVersion: 1,
    agentVersion: '1.0.0',
    auth: { method: 'enroll', token: 'oet_0123456789ab_secret', publicKey: 'B'.repeat(43), signature: sig },
    facts,
  },
  heartbeat: { type: 'agent.heartbeat', time: 1, uptimeSec: 2, outboxPending: 0 },
  event: {
    type: 'stream.event',
    seq: 1,
    time: 1,
    kind: 'agent.started',
    data: { version: '1', pid: 3, ok: true, none: null },
  },
  gap: { type: 'stream.gap', seq: 5, count: 3, reason: 'outbox_full' },
};

describe('message decoders', () => {
  it.each(Object.entries(valid))('accepts a valid %s', (_n, msg) => {
    expect(agentMessages.decode(JSON.stringify(msg))).toEqual(msg);
  });

  it('accepts the collector messages', () => {
    for (const msg of [
      { type: 'collector.challenge', nonce: 'abc', protocolVersion: 1, minProtocolVersion: 1, serverTime: 5 },
      {
        type: 'collector.welcome',
        agentId,
        protocolVersion: 1,
        lastSeq: 0,
        heartbeatIntervalMs: 30000,
        messagesPerSecond: 100,
        messageBurst: 100,
        serverTime: 1,
        enrolled: true,
        clientId: 'c',
        siteId: 's',
      },
      { type: 'stream.ack', seq: 9 },
    ]) {
      expect(collectorMessages.decode(JSON.stringify(msg))).toEqual(msg);
    }
  });

  it.each([
    ['malformed JSON', '{"type":'],
    ['a __proto__ key', '{"type":"agent.heartbeat","time":1,"uptimeSec":1,"outboxPending":0,"__proto__":{"x":1}}'],
    ['a nested __proto__ key', JSON.stringify(valid.event).replace('"data":{', '"data":{"__proto__":{"a":1},')],
    ['an extra field (agentId in an event)', JSON.stringify({ ...valid.event, agentId })],
    ['a wrong type', JSON.stringify({ ...valid.heartbeat, time: 'now' })],
    ['an unknown type', JSON.stringify({ type: 'agent.hack' })],
    ['an oversized string', JSON.stringify({ ...valid.event, data: { s: 'x'.repeat(5000) } })],
    ['seq 0', JSON.stringify({ ...valid.event, seq: 0 })],
    ['seq 1.5', JSON.stringify({ ...valid.event, seq: 1.5 })],
    ['seq 2^53', JSON.stringify({ ...valid.event, seq: 2 ** 53 })],
    // Issue 17: "integer" alone took 1e300, past which counts and sizes are no longer exact.
    ['a count past 2^53-1', JSON.stringify({ ...valid.heartbeat, outboxPending: 1e300 })],
    ['an uptime past 2^53-1', JSON.stringify({ ...valid.heartbeat, uptimeSec: 2 ** 53 })],
    ['a bad agent id', JSON.stringify({ ...valid.helloKey, auth: { ...valid.helloKey.auth, agentId: 'ag_../../x' } })],
    ['not an object', '42'],
  ])('refuses %s with OUTPOST_E_BAD_MESSAGE', (_n, text) => {
    expect(() => agentMessages.decode(text)).toThrow(expect.objectContaining({ code: 'OUTPOST_E_BAD_MESSAGE' }));
  });

  it('mends half surrogate pairs in strings and keys, which SQLite would turn into one key', () => {
    // Two metric names JavaScript holds apart that UTF-8 (and so SQLite) would store as the same text.
    const text =
      '{"type":"metrics.batch","seq":1,"samples":[{"time":1,"values":{"disk.used_pct:\\ud800":1,"disk.used_pct:\\udbff":2}}]}';
    const msg = agentMessages.decode(text) as { samples: { values: Record<string, number> }[] };
    expect(Object.keys(msg.samples[0]!.values)).toEqual(['disk.used_pct:\uFFFD']);
    const ev = agentMessages.decode(
      JSON.stringify({ ...valid.event, data: { name: 'a\ud800b', emoji: '\ud83d\ude00' } }),
    ) as { data: Record<string, string> };
    expect(ev.data).toEqual({ name: 'a\uFFFDb', emoji: '\ud83d\ude00' }); // a whole pair is kept
  });

  it('refuses collector numbers no JavaScript integer holds exactly', () => {
    for (const msg of [
      { type: 'stream.ack', seq: 2 ** 53 },
      { type: 'collector.challenge', nonce: 'abc', protocolVersion: 1e300, minProtocolVersion: 1, serverTime: 5 },
    ])
      expect(() => collectorMessages.decode(JSON.stringify(msg))).toThrow(
        expect.objectContaining({ code: 'OUTPOST_E_BAD_MESSAGE' }),
      );
  });

  it('names the message type and the path of a violation', () => {
    expect(() => agentMessages.decode(JSON.stringify({ ...valid.heartbeat, time: -1 }))).toThrow(/agent\.heartbeat/);
  });

  it('gives the last sequence number a message covers', () => {
    const gap: StreamGap = { type: 'stream.gap', seq: 5, count: 3, reason: 'outbox_full' };
    const event: StreamEvent = { type: 'stream.event', seq: 4, time: 1, kind: 'x', data: {} };
    expect(lastSeqOf(gap)).toBe(7);
    expect(lastSeqOf(event)).toBe(4);
  });
});
