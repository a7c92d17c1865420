import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPublicKey, signTicket, type TicketClaims } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { parseStat, sessionTree } from './process-tree.js';
import { sessionKeyFile, TicketGuard, usedTicketsFile } from './tickets.js';

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
    const guard = new TicketGuard({ agentId, key: exportPublicKey(publicKey), now: () => now });
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

  it('refuses a used ticket after a restart from the same state dir, keeps the file owner-only and prunes it', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'outpost-tickets-'));
    try {
      writeFileSync(sessionKeyFile(stateDir), `${exportPublicKey(publicKey)}\n`, { mode: 0o600 });
      let now = 2_000_000;
      const t = signTicket(privateKey, claims(now));
      expect(TicketGuard.load(agentId, undefined, stateDir, () => now).admit(t, sessionId, 'shell').user).toBe('a@b.c');
      expect(statSync(usedTicketsFile(stateDir)).mode & 0o777).toBe(0o600);
      // The agent restarts: a new guard from the same state dir still knows the ticket was used.
      const restarted = TicketGuard.load(agentId, undefined, stateDir, () => now);
      expect(() => restarted.admit(t, sessionId, 'shell')).toThrow(/already used/);
      // Past expiry (and the skew) the id is dropped from the file at the next admission.
      now += 60_000 + 11_000;
      const later = TicketGuard.load(agentId, undefined, stateDir, () => now);
      later.admit(signTicket(privateKey, claims(now, { tid: 'tid-later-0123456789' })), sessionId, 'shell');
      expect(Object.keys(JSON.parse(readFileSync(usedTicketsFile(stateDir), 'utf8')))).toEqual([
        'tid-later-0123456789',
      ]);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('refuses every ticket for a ticket lifetime when the used-ticket file is damaged', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'outpost-tickets-'));
    try {
      writeFileSync(usedTicketsFile(stateDir), '{"tid-', { mode: 0o600 });
      let now = 3_000_000;
      const guard = TicketGuard.load(agentId, exportPublicKey(publicKey), stateDir, () => now);
      expect(guard.loadError?.code).toBe('OUTPOST_E_CONFIG_INVALID');
      expect(() => guard.admit(signTicket(privateKey, claims(now)), sessionId, 'shell')).toThrow(/previous run/);
      now += 131_000;
      expect(guard.admit(signTicket(privateKey, claims(now)), sessionId, 'shell').user).toBe('a@b.c');
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('refuses every ticket when no collector key is known', () => {
    const guard = new TicketGuard({ agentId, key: undefined });
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
