/**
 * The tls concern owns the collector's TLS identity (certificate, key, fingerprint). It never stores agent keys.
 */
export {
  type CertificateMaterial,
  type CertificateOptions,
  ensureCertificate,
  fingerprintOf,
  generateSelfSigned,
  readGenerated,
} from './certificate.js';
