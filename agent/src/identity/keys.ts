/**
 * The agent's identity: an Ed25519 key pair generated on the machine. The private key never leaves it (file mode
 * 0600 in a 0700 directory); the collector only ever sees the public key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exportPublicKey, OutpostError } from '@outpost/shared';

/** The loaded key pair. */
export interface AgentIdentityKeys {
  privateKey: KeyObject;
  /** Raw public key, base64url (what enrollment sends). */
  publicKey: string;
  file: string;
}

/** Path of the key file in a state directory. */
export const keyFileIn = (stateDir: string) => join(stateDir, 'agent.key');

/** Loads the key, or creates it when `create` and there is none. Refuses a key file others can read. */
export function loadOrCreateKey(stateDir: string, create: boolean): AgentIdentityKeys {
  const file = keyFileIn(stateDir);
  let pem: string | undefined;
  try {
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
      throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
        message: `Key file ${file} is readable by other users; fix with chmod 600`,
        details: { file },
      });
    }
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
        cause: err,
        message: `Cannot read key file ${file}`,
        details: { file },
      });
    }
  }
  if (pem === undefined) {
    if (!create)
      throw new OutpostError('OUTPOST_E_NOT_ENROLLED', { message: `No agent key at ${file}`, details: { file } });
    const fresh = newKey(stateDir);
    saveKey(fresh);
    pem = fresh.pem;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `Key file ${file} does not hold a private key`,
      details: { file },
    });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `Key file ${file} holds a ${privateKey.asymmetricKeyType} key, not Ed25519`,
      details: { file },
    });
  }
  return { privateKey, publicKey: exportPublicKey(createPublicKey(privateKey)), file };
}

/** A fresh key pair held in memory only, with its PEM: enrollment writes it (`saveKey`) once it has succeeded. */
export function newKey(stateDir: string): AgentIdentityKeys & { pem: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { privateKey, publicKey: exportPublicKey(createPublicKey(privateKey)), file: keyFileIn(stateDir), pem };
}

/** Writes a key file atomically (mode 0600, in a 0700 directory it creates), replacing any previous one. */
export function saveKey(key: { file: string; pem: string }): void {
  mkdirSync(dirname(key.file), { recursive: true, mode: 0o700 });
  const tmp = `${key.file}.${process.pid}.tmp`;
  writeFileSync(tmp, key.pem, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, key.file);
}
