import { describe, expect, it } from 'vitest';
import {
  base32Decode,
  base32Encode,
  checkPasswordPolicy,
  generatePassword,
  hashPassword,
  newToken,
  parseToken,
  tokenMatches,
  totpCode,
  totpUri,
  verifyPassword,
  verifyTotp,
} from './secrets.js';

describe('passwords', () => {
  it('hashes with scrypt and verifies', async () => {
    const h = await hashPassword('correct horse battery');
    expect(h).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('wrong horse battery', h)).toBe(false);
    expect(await hashPassword('correct horse battery')).not.toBe(h); // salted
  });
  it('returns false for malformed encodings', async () => {
    for (const bad of ['', 'bcrypt$x', 'scrypt$1$1$1$$', 'scrypt$99999999$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA=='])
      expect(await verifyPassword('x', bad)).toBe(false);
  });
  it('has a policy and generates compliant passwords', () => {
    expect(checkPasswordPolicy('short')).toBeDefined();
    expect(checkPasswordPolicy('long enough password')).toBeUndefined();
    const p = generatePassword();
    expect(p).toHaveLength(20);
    expect(checkPasswordPolicy(p)).toBeUndefined();
  });
});

describe('TOTP (RFC 6238 appendix B, SHA-1)', () => {
  const secret = base32Encode(Buffer.from('12345678901234567890'));
  it.each([
    [59, '287082'],
    [1111111109, '081804'],
    [1234567890, '005924'],
    [2000000000, '279037'],
  ])('at %i s gives %s', (t, code) => {
    expect(totpCode(secret, t * 1000)).toBe(code);
    expect(verifyTotp(secret, code, t * 1000)).toBe(Math.floor(t / 30));
  });
  it('accepts one step of drift and nothing beyond', () => {
    const code = totpCode(secret, 1_000_000_000_000);
    expect(verifyTotp(secret, code, 1_000_000_000_000 + 30_000)).toBeDefined();
    expect(verifyTotp(secret, code, 1_000_000_000_000 + 95_000)).toBeUndefined();
    expect(verifyTotp(secret, 'abcdef', 0)).toBeUndefined();
  });
  it('round-trips base32 and builds an otpauth URI', () => {
    expect(base32Decode(base32Encode(Buffer.from('hello world'))).toString()).toBe('hello world');
    expect(() => base32Decode('1!')).toThrow(RangeError);
    expect(totpUri(secret, 'a@b.c')).toMatch(/^otpauth:\/\/totp\/Outpost%3Aa%40b\.c\?secret=/);
  });
});

describe('opaque tokens', () => {
  it('are prefixed, looked up by id and compared by hash', () => {
    const t = newToken('oet');
    expect(parseToken(t.token)).toEqual({ prefix: 'oet', id: t.id });
    expect(tokenMatches(t.token, t.hash)).toBe(true);
    // Change the last character to a different one (replacing it with a fixed letter is no change 1 time in 64).
    const last = t.token.at(-1) === 'A' ? 'B' : 'A';
    expect(tokenMatches(`${t.token.slice(0, -1)}${last}`, t.hash)).toBe(false);
    expect(tokenMatches(t.token, 'zz')).toBe(false);
    expect(parseToken('oet_123_abc')).toBeUndefined();
    expect(parseToken(`xxx_${t.id}_${t.token.split('_').slice(2).join('_')}`)).toBeUndefined();
  });
});
