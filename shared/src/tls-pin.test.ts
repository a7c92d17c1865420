import { describe, expect, it } from 'vitest';
import { checkPinnedCertificate, fingerprintOfDer, normalizeFingerprint } from './tls-pin.js';

const hex = 'ab'.repeat(32);
const canonical = Array(32).fill('AB').join(':');

describe('certificate fingerprints', () => {
  it('normalises what people type', () => {
    for (const input of [
      hex,
      hex.toUpperCase(),
      canonical,
      canonical.toLowerCase(),
      `sha256:${hex}`,
      hex.replace(/(..)/g, '$1 '),
    ]) {
      expect(normalizeFingerprint(input)).toBe(canonical);
    }
  });
  it('refuses wrong lengths and non-hex', () => {
    expect(() => normalizeFingerprint('ab'.repeat(31))).toThrow(RangeError);
    expect(() => normalizeFingerprint('zz'.repeat(32))).toThrow(RangeError);
  });
  it('checks a socket certificate against the pin', () => {
    const raw = Buffer.from('certificate bytes');
    const pin = fingerprintOfDer(raw);
    expect(checkPinnedCertificate({ getPeerCertificate: () => ({ raw }) }, pin)).toBeUndefined();
    expect(checkPinnedCertificate({ getPeerCertificate: () => ({ raw: Buffer.from('other') }) }, pin)?.code).toBe(
      'OUTPOST_E_TLS_PIN_MISMATCH',
    );
    expect(checkPinnedCertificate({ getPeerCertificate: () => ({}) }, pin)?.code).toBe('OUTPOST_E_TLS_PIN_MISMATCH');
  });
});
