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

/** Loads the key from `<dataDir>/session-ticket.key`, creating it on first start (in memory for `:memory:`). */
export function loadOrCreateTicketKey(dataDir: string): TicketKey {
  if (dataDir === ':memory:') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return { privateKey, publicKey: exportPublicKey(publicKey) };
  }
  const file = join(dataDir, 'session-ticket.key');
  if (existsSync(file)) {
    const privateKey = createPrivateKey(readFileSync(file));
    return { privateKey, publicKey: exportPublicKey(createPublicKey(privateKey)) };
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  return { privateKey, publicKey: exportPublicKey(publicKey) };
}
