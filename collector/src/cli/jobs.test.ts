/** The jobs CLI's own parsing and offline signing (no collector involved). */
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptSigningPayload } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { durationSec, parseWindow, publicKeyOf, readSigningKey, signScript } from './jobs.js';

describe('jobs CLI', () => {
  it('parses windows and durations, refusing what a person could not have meant', () => {
    expect(parseWindow('Tue,thu 22:00 180')).toEqual({ days: [2, 4], start: '22:00', minutes: 180 });
    expect(parseWindow('sunday 00:30 60')).toEqual({ days: [0], start: '00:30', minutes: 60 });
    for (const bad of ['tue 24:00 60', 'tue 22:00 0', 'tue 22:00 1441', 'someday 22:00 60', '22:00 60'])
      expect(() => parseWindow(bad), bad).toThrow(/DAYS HH:MM MINUTES/);
    expect(durationSec('30s')).toBe(30);
    expect(durationSec('7d')).toBe(604_800);
    for (const bad of ['0s', '91d', '5', '1e3s', '-5m']) expect(() => durationSec(bad), bad).toThrow();
  });

  it('signs with a PEM Ed25519 key what the agent verifies; other keys and files are refused, coded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-sign-'));
    try {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const pem = join(dir, 'org.pem');
      writeFileSync(pem, privateKey.export({ format: 'pem', type: 'pkcs8' }));
      const key = readSigningKey(pem);
      const r = signScript(key, 'cleanup', 'echo hi\n');
      expect(
        verify(null, scriptSigningPayload('cleanup', r.sha256), publicKey, Buffer.from(r.signature, 'base64url')),
      ).toBe(true);
      expect(publicKeyOf(key)).toBe((publicKey.export({ format: 'jwk' }) as { x: string }).x);
      const rsa = join(dir, 'rsa.pem');
      writeFileSync(
        rsa,
        generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
      );
      expect(() => readSigningKey(rsa)).toThrow(expect.objectContaining({ code: 'OUTPOST_E_SIGNING_KEY_INVALID' }));
      writeFileSync(join(dir, 'text'), 'not a key');
      expect(() => readSigningKey(join(dir, 'text'))).toThrow(/not a PEM private key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
