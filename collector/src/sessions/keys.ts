/** The collector's Ed25519 key for session tickets: created once in the data directory (0600), never sent. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportPublicKey } from '@outpost/shared';

/** The signing key pair; `publicKey` is raw base64url as agents store it. */
export interface TicketKey {
  privateKey: KeyObject;
  publicKey: string;
}

/** A key pair from its PKCS#8 PEM private key. */
export function ticketKeyFromPem(pem: string | Buffer): TicketKey {
  const privateKey = createPrivateKey(pem);
  return { privateKey, publicKey: exportPublicKey(createPublicKey(privateKey)) };
}

/** A new private key as PKCS#8 PEM. */
export function newTicketKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/** The PEM of `<dataDir>/session-ticket.key`, or undefined when there is none. */
export function readTicketKeyPem(dataDir: string): string | undefined {
  const file = join(dataDir, 'session-ticket.key');
  return dataDir !== ':memory:' && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** Loads the key from `<dataDir>/session-ticket.key`, creating it on first start (in memory for `:memory:`). */
export function loadOrCreateTicketKey(dataDir: string): TicketKey {
  if (dataDir === ':memory:') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return { privateKey, publicKey: exportPublicKey(publicKey) };
  }
  const existing = readTicketKeyPem(dataDir);
  if (existing) return ticketKeyFromPem(existing);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pem = newTicketKeyPem();
  writeFileSync(join(dataDir, 'session-ticket.key'), pem, { mode: 0o600, flag: 'wx' });
  return ticketKeyFromPem(pem);
}
