/**
 * Certificate pinning by SHA-256 fingerprint, as printed by `outpost serve` and given to agents and the CLI.
 * Format: 32 bytes as upper-case hex pairs joined by colons (the form `openssl x509 -fingerprint -sha256` prints).
 */
import { createHash } from 'node:crypto';
import { OutpostError } from './errors.js';

/** Normalises a fingerprint typed by a person (any case, with or without colons or spaces). */
export function normalizeFingerprint(input: string): string {
  const hex = input
    .replace(/^sha256[:=]/i, '')
    .replace(/[\s:]/g, '')
    .toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new RangeError('a SHA-256 fingerprint has 64 hexadecimal digits (colons optional)');
  }
  return hex.match(/../g)!.join(':');
}

/** The fingerprint of a DER-encoded certificate. */
export function fingerprintOfDer(der: Uint8Array): string {
  return normalizeFingerprint(createHash('sha256').update(der).digest('hex'));
}

/** The subset of a TLS socket pinning needs (so this file does not import node:tls types into the agent bundle). */
interface PeerCertificateSource {
  getPeerCertificate(): { raw?: Buffer } | object;
}

/**
 * Checks a connected TLS socket's leaf certificate against a pinned fingerprint. Returns the error to destroy the
 * socket with, or undefined when it matches. Both the agent and the technicians' CLI pin this way.
 */
export function checkPinnedCertificate(socket: PeerCertificateSource, pinned: string): OutpostError | undefined {
  const cert = socket.getPeerCertificate() as { raw?: Buffer };
  const actual = cert.raw ? fingerprintOfDer(cert.raw) : 'none';
  if (actual === normalizeFingerprint(pinned)) return undefined;
  return new OutpostError('OUTPOST_E_TLS_PIN_MISMATCH', {
    details: { expected: normalizeFingerprint(pinned), actual },
  });
}

/** OpenSSL's verification failures: the certificate chain does not lead to a trusted CA, or names another host. */
const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The coded error for a connection whose TLS verification failed (a self-signed collector reached without
 * `--ca-fingerprint`, the usual first-hour case), or undefined for any other network error. Both the agent and the
 * CLI call it where a connection fails, so the person is told to pin the certificate rather than to wait.
 */
export function untrustedCertificateError(err: unknown, where: string): OutpostError | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !UNTRUSTED_CERTIFICATE.has(code)) return undefined;
  return new OutpostError('OUTPOST_E_TLS_UNTRUSTED', {
    cause: err,
    message: `The certificate of ${where} is not trusted (${code}); pass --ca-fingerprint (printed by \`outpost serve\`)`,
    details: { tlsCode: code },
  });
}
