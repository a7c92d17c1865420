/**
 * The collector's TLS identity: the operator's certificate and key, or a self-signed certificate generated on first
 * start (EC P-256, 10 years) and kept in the data directory, whose SHA-256 fingerprint agents and the CLI pin.
 */

import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { fingerprintOfDer, OutpostError } from '@outpost/shared';
import { generate } from 'selfsigned';
import { writeFileAtomic } from '../files/atomic-write.js';

/** What `ensureCertificate` needs. */
export interface CertificateOptions {
  dataDir: string;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  hostnames?: string[] | undefined;
  logger: { info(o: object, m: string): void };
}

/** The certificate in use. */
export interface CertificateMaterial {
  cert: string;
  key: string;
  fingerprint: string;
  generated: boolean;
  certPath: string;
  keyPath: string;
}

function readPem(file: string, what: 'certificate' | 'key'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `Cannot read TLS ${what} ${file}`,
      details: { file },
    });
  }
  const marker = what === 'certificate' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
  if (!marker.test(text))
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `TLS ${what} ${file} is not PEM`,
      details: { file },
    });
  return text;
}

export function fingerprintOf(pem: string, file: string): string {
  try {
    return fingerprintOfDer(new X509Certificate(pem).raw);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `TLS certificate ${file} cannot be parsed`,
      details: { file },
    });
  }
}

/** Loads the configured certificate, or the generated one, generating it on first start. */
export async function ensureCertificate(opts: CertificateOptions): Promise<CertificateMaterial> {
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) {
      throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
        message: 'tls.certFile and tls.keyFile go together: give both or neither',
      });
    }
    const cert = readPem(opts.certFile, 'certificate');
    const key = readPem(opts.keyFile, 'key');
    return {
      cert,
      key,
      fingerprint: fingerprintOf(cert, opts.certFile),
      generated: false,
      certPath: opts.certFile,
      keyPath: opts.keyFile,
    };
  }
  const dir = join(opts.dataDir, 'tls');
  const certPath = join(dir, 'collector.crt');
  const keyPath = join(dir, 'collector.key');
  const existing = readGenerated(opts.dataDir);
  if (existing)
    return { ...existing, fingerprint: fingerprintOf(existing.cert, certPath), generated: false, certPath, keyPath };
  const pems = await generateSelfSigned(opts.hostnames);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(keyPath, pems.private, 0o600);
  writeFileAtomic(certPath, pems.cert, 0o644);
  const fingerprint = fingerprintOf(pems.cert, certPath);
  opts.logger.info({ certPath, fingerprint }, 'generated a self-signed TLS certificate');
  return { cert: pems.cert, key: pems.private, fingerprint, generated: true, certPath, keyPath };
}

/** The self-signed certificate and key an earlier start generated in `<dataDir>/tls`, or undefined. */
export function readGenerated(dataDir: string): { cert: string; key: string } | undefined {
  const dir = join(dataDir, 'tls');
  try {
    return {
      cert: readFileSync(join(dir, 'collector.crt'), 'utf8'),
      key: readFileSync(join(dir, 'collector.key'), 'utf8'),
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
}

/** A new self-signed certificate (EC P-256, 10 years) for localhost, its loopback addresses and `hostnames`. */
export async function generateSelfSigned(hostnames: string[] | undefined): Promise<{ cert: string; private: string }> {
  const names = ['localhost', '127.0.0.1', '::1', ...(hostnames ?? [])];
  const altNames = [...new Set(names)].map((n) =>
    isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n },
  );
  const now = new Date();
  return generate([{ name: 'commonName', value: 'Outpost collector' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 10 * 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
}
