import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exportPublicKey, importPublicKey, signAuthProof, verifyAuthProof } from './auth-proof.js';

describe('agent auth proof', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = exportPublicKey(publicKey);
  const agentId = `ag_${'a'.repeat(24)}`;
  const nonce = 'n0nce_value';

  it('verifies a signature made with the key, for that nonce, method and subject only', () => {
    const sig = signAuthProof(privateKey, nonce, 'key', agentId);
    expect(verifyAuthProof(pub, nonce, 'key', agentId, sig)).toBe(true);
    expect(verifyAuthProof(pub, 'other', 'key', agentId, sig)).toBe(false);
    expect(verifyAuthProof(pub, nonce, 'enroll', agentId, sig)).toBe(false);
    expect(verifyAuthProof(pub, nonce, 'key', `ag_${'b'.repeat(24)}`, sig)).toBe(false);
    const other = exportPublicKey(generateKeyPairSync('ed25519').publicKey);
    expect(verifyAuthProof(other, nonce, 'key', agentId, sig)).toBe(false);
  });

  it('returns false for malformed keys and signatures instead of throwing', () => {
    const sig = signAuthProof(privateKey, nonce, 'key', agentId);
    expect(verifyAuthProof(pub, nonce, 'key', agentId, sig.slice(0, 40))).toBe(false);
    expect(verifyAuthProof(pub, nonce, 'key', agentId, '!!!')).toBe(false);
    expect(verifyAuthProof('short', nonce, 'key', agentId, sig)).toBe(false);
  });

  it('exports and imports raw public keys', () => {
    expect(exportPublicKey(importPublicKey(pub))).toBe(pub);
    expect(Buffer.from(pub, 'base64url')).toHaveLength(32);
    expect(() => importPublicKey('abcd')).toThrow(RangeError);
  });
});
