/**
 * What an agent signs to prove its identity, and how the collector checks it (Ed25519, node:crypto).
 * The payload is domain-separated and binds the nonce to the claimed identity, so a signature made for one
 * challenge, method or agent cannot be replayed for another.
 */
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/** The bytes an agent signs for a challenge. `subject` is the agent id (key auth) or the public key (enroll). */
export function authProofPayload(nonce: string, method: 'enroll' | 'key', subject: string): Buffer {
  return Buffer.from(`outpost/v1/agent-auth\n${method}\n${subject}\n${nonce}`, 'utf8');
}

/** Signs a challenge with the agent's private key; returns base64url. */
export function signAuthProof(privateKey: KeyObject, nonce: string, method: 'enroll' | 'key', subject: string): string {
  return sign(null, authProofPayload(nonce, method, subject), privateKey).toString('base64url');
}

/** Imports a raw Ed25519 public key given as base64url; throws on anything that is not one. */
export function importPublicKey(publicKeyB64: string): KeyObject {
  const raw = Buffer.from(publicKeyB64, 'base64url');
  if (raw.length !== 32) throw new RangeError(`an Ed25519 public key has 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKeyB64 }, format: 'jwk' });
}

/** Exports an Ed25519 public key as raw base64url (the form stored by the collector). */
export function exportPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 public key');
  return jwk.x;
}

/** Verifies a challenge signature; false for any malformed input rather than throwing. */
export function verifyAuthProof(
  publicKeyB64: string,
  nonce: string,
  method: 'enroll' | 'key',
  subject: string,
  signatureB64: string,
): boolean {
  try {
    const signature = Buffer.from(signatureB64, 'base64url');
    if (signature.length !== 64) return false;
    return verify(null, authProofPayload(nonce, method, subject), importPublicKey(publicKeyB64), signature);
  } catch {
    // A malformed key or signature is simply not a valid proof; the caller reports OUTPOST_E_SIGNATURE_INVALID.
    return false;
  }
}
