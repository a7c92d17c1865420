/**
 * Enrollment from what the MSI wrote to HKLM\SOFTWARE\Outpost: the `reg query` output parser against recorded
 * output, and the decisions about the token (kept only when a retry can succeed). The registry is the operating
 * system's answer, recorded; the enrollment itself is real (it dials a closed port or refuses a bad token). The
 * enrolled-through-a-collector case is in test/package/installers.test.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initReleaseKeys } from '@outpost/shared';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { enrollFromRegistry, parseRegQuery, type RegistryAccess } from './registry-enrollment.js';

// Recorded on Windows 11 (reg.exe writes CRLF, a blank line, the key, the values indented by four spaces).
const TOKEN = `oet_0123456789ab_${'A'.repeat(43)}`;
const RECORDED = `\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Outpost\r\n    Server    REG_SZ    https://outpost.example.com:8443\r\n    Token    REG_SZ    ${TOKEN}\r\n    CaFingerprint    REG_SZ    AB:CD:EF\r\n\r\n`;

const dir = mkdtempSync(join(tmpdir(), 'outpost-regenroll-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeRegistry(output: string | undefined): RegistryAccess & { deleted: number } {
  const r = {
    deleted: 0,
    query: async () => output,
    deleteToken: async () => {
      r.deleted++;
    },
  };
  return r;
}

const logger = pino({ level: 'silent' });
let n = 0;
const paths = () => {
  const d = join(dir, String(n++));
  return { configFile: join(d, 'agent.json'), stateDir: join(d, 'state') };
};

describe('parseRegQuery', () => {
  it('reads the three values of a recorded reg query', () => {
    expect(parseRegQuery(RECORDED)).toEqual({
      server: 'https://outpost.example.com:8443',
      token: TOKEN,
      caFingerprint: 'AB:CD:EF',
    });
  });

  it('reads the pinned release root hash the MSI passed as UPDATE_ROOT_SHA256', () => {
    expect(parseRegQuery(`${RECORDED}    UpdateRootSha256    REG_SZ    ${'ab'.repeat(32)}\r\n`).updateRootSha256).toBe(
      'ab'.repeat(32),
    );
  });

  it('ignores other types, unknown names, empty values and lines that are not values', () => {
    const out = [
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Outpost',
      '    Token    REG_DWORD    0x1',
      '    Server    REG_SZ    ',
      '    Other Name    REG_SZ    x',
      'Server    REG_SZ    https://not-indented',
      '    CAFINGERPRINT    REG_SZ    11:22',
    ].join('\n');
    expect(parseRegQuery(out)).toEqual({ caFingerprint: '11:22' });
  });
});

describe('enrollFromRegistry', () => {
  it('does nothing without the key or without a token', async () => {
    const none = fakeRegistry(undefined);
    expect(await enrollFromRegistry({ ...paths(), logger, registry: none })).toBe('none');
    const noToken = fakeRegistry('    Server    REG_SZ    https://x\r\n');
    expect(await enrollFromRegistry({ ...paths(), logger, registry: noToken })).toBe('none');
    expect(none.deleted + noToken.deleted).toBe(0);
  });

  it('drops the token of an already enrolled machine without enrolling again', async () => {
    const p = paths();
    mkdirSync(join(p.configFile, '..'), { recursive: true });
    writeFileSync(p.configFile, '{}');
    const reg = fakeRegistry(RECORDED);
    expect(await enrollFromRegistry({ ...p, logger, registry: reg })).toBe('already-enrolled');
    expect(reg.deleted).toBe(1);
  });

  it('deletes a token that can never work (malformed) and one left without a server', async () => {
    const bad = fakeRegistry('    Server    REG_SZ    https://127.0.0.1:1\r\n    Token    REG_SZ    not-a-token\r\n');
    expect(await enrollFromRegistry({ ...paths(), logger, registry: bad })).toBe('failed-deleted');
    expect(bad.deleted).toBe(1);
    const noServer = fakeRegistry(`    Token    REG_SZ    ${TOKEN}\r\n`);
    expect(await enrollFromRegistry({ ...paths(), logger, registry: noServer })).toBe('failed-deleted');
    expect(noServer.deleted).toBe(1);
  });

  it('keeps the token when the collector cannot be reached, for the next start', async () => {
    // A port that was just free: nothing listens on it.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const reg = fakeRegistry(`    Server    REG_SZ    http://127.0.0.1:${port}\r\n    Token    REG_SZ    ${TOKEN}\r\n`);
    const p = paths();
    expect(await enrollFromRegistry({ ...p, logger, registry: reg })).toBe('failed-kept');
    expect(reg.deleted).toBe(0);
  });

  it('enrolls nothing when the collector serves another release root than pinned, and drops the token', async () => {
    const ours = initReleaseKeys(join(dir, 'keys-ours')).rootFile;
    const theirs = initReleaseKeys(join(dir, 'keys-theirs')).rootFile;
    let served: string | undefined = theirs;
    const http = createHttpServer((req, res) => {
      if (req.url === '/v1/updates/metadata/1.root.json' && served) res.end(readFileSync(served));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const pin = createHash('sha256').update(readFileSync(ours)).digest('hex');
      const values = `    Server    REG_SZ    ${url}\r\n    Token    REG_SZ    ${TOKEN}\r\n    UpdateRootSha256    REG_SZ    ${pin}\r\n`;
      const swapped = fakeRegistry(values);
      const p = paths();
      expect(await enrollFromRegistry({ ...p, logger, registry: swapped })).toBe('failed-deleted');
      expect(swapped.deleted).toBe(1);
      expect(existsSync(p.configFile)).toBe(false);
      // No root published yet: that may pass (an admin publishes), so the token stays for the next start.
      served = undefined;
      const early = fakeRegistry(values);
      expect(await enrollFromRegistry({ ...paths(), logger, registry: early })).toBe('failed-kept');
      expect(early.deleted).toBe(0);
    } finally {
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});
