import { generateKeyPairSync } from 'node:crypto';
import { exportPublicKey, signTicket, type TicketClaims } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { parseStat, sessionTree } from './process-tree.js';
import { TicketGuard } from './tickets.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const agentId = `ag_${'1'.repeat(24)}`;
const sessionId = `ss_${'2'.repeat(24)}`;
const claims = (now: number, over: Partial<TicketClaims> = {}): TicketClaims => ({
  v: 1,
  tid: 'tid-0123456789abcdef',
  agentId,
  sessionId,
  userId: 'us_1',
  user: 'a@b.c',
  caps: ['shell'],
  iat: now,
  exp: now + 60_000,
  ...over,
});

describe('TicketGuard', () => {
  it('admits a fresh ticket once, refuses its replay until long after expiry, and refuses expired ones', () => {
    let now = 1_000_000;
    const guard = new TicketGuard(agentId, exportPublicKey(publicKey), () => now);
    const t = signTicket(privateKey, claims(now));
    expect(guard.admit(t, sessionId, 'shell').user).toBe('a@b.c');
    expect(() => guard.admit(t, sessionId, 'shell')).toThrow(/already used/);
    now += 30_000;
    expect(() => guard.admit(t, sessionId, 'shell')).toThrow(/already used/);
    now += 60_000;
    expect(() => guard.admit(t, sessionId, 'shell')).toThrow(/expired/);
    expect(() =>
      guard.admit(signTicket(privateKey, claims(now, { tid: 'tid-other-0123456789' })), sessionId, 'shell.elevated'),
    ).toThrow(/no shell.elevated/);
  });

  it('refuses every ticket when no collector key is known', () => {
    const guard = new TicketGuard(agentId, undefined);
    expect(() => guard.admit(signTicket(privateKey, claims(Date.now())), sessionId, 'shell')).toThrow(
      /no collector session key/,
    );
  });
});

describe('process tree', () => {
  it('parses /proc stat lines with odd command names and finds session members and descendants', () => {
    expect(parseStat('42 (a) b (c)) S 1 42 42 0 -1')).toEqual({ pid: 42, ppid: 1, sid: 42, state: 'S' });
    const rows = [
      { pid: 10, ppid: 1, sid: 10, state: 'S' },
      { pid: 11, ppid: 10, sid: 10, state: 'S' },
      { pid: 12, ppid: 11, sid: 12, state: 'S' }, // setsid child, still a descendant
      { pid: 13, ppid: 1, sid: 10, state: 'S' }, // orphan in the session
      { pid: 14, ppid: 13, sid: 10, state: 'Z' }, // zombie: nothing to kill
      { pid: 20, ppid: 1, sid: 20, state: 'S' },
    ];
    expect(sessionTree(rows, 10).sort()).toEqual([10, 11, 12, 13]);
  });
});
