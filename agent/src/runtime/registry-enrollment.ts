/**
 * Windows: enrollment from the MSI. `msiexec /i outpost-agent.msi /qn SERVER=… TOKEN=… CA_FINGERPRINT=…
 * [UPDATE_ROOT_SHA256=…]` writes the values to HKLM\SOFTWARE\Outpost (a key only SYSTEM and Administrators can read, set by the MSI) and
 * starts the service; at its first start `run` enrolls from there and deletes the token value. The token is kept
 * only when enrolling failed for a reason that may pass (collector unreachable): the service host restarts the
 * agent with backoff and it tries again. A refused token, or a server or fingerprint that cannot work, is deleted
 * at once. docs/0009-packaging.md, "Installers". The registry is reached through `reg.exe` (no native addon); the
 * access is injected so the flow is tested on any platform with a recorded `reg query` output.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { UPDATE_ROOT_NAME } from '../install/layout.js';
import { normalizeRootSha256, pinnedReleaseRoot, type ReleaseRoot, trustReleaseRoot } from '../install/update-root.js';
import { enroll } from './enroll.js';

export const REGISTRY_KEY = 'HKLM\\SOFTWARE\\Outpost';

/** What the MSI left for the agent. */
export interface RegistryEnrollment {
  server?: string;
  token?: string;
  caFingerprint?: string;
  /** UPDATE_ROOT_SHA256: the release root to fetch from the collector and trust if it hashes to this. */
  updateRootSha256?: string;
}

/** The registry, as far as this module needs it. */
export interface RegistryAccess {
  /** `reg query HKLM\SOFTWARE\Outpost` output, or undefined when the key does not exist. */
  query(): Promise<string | undefined>;
  /** Deletes the Token value. */
  deleteToken(): Promise<void>;
}

const NAMES: Record<string, keyof RegistryEnrollment> = {
  server: 'server',
  token: 'token',
  cafingerprint: 'caFingerprint',
  updaterootsha256: 'updateRootSha256',
};

/**
 * Reads `reg query` output: lines of four spaces, name, four spaces, REG_SZ, four spaces, value. Only REG_SZ values
 * of the three known names count; anything else in the key is ignored, and every value is trimmed.
 */
export function parseRegQuery(output: string): RegistryEnrollment {
  const found: RegistryEnrollment = {};
  for (const raw of output.split(/\r?\n/)) {
    const m = /^ {4}(\S(?:.*?\S)?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(raw);
    if (m?.[2] !== 'REG_SZ') continue;
    const key = NAMES[m[1]!.toLowerCase()];
    const value = (m[3] ?? '').trim();
    if (key && value) found[key] = value;
  }
  return found;
}

/** The real registry through reg.exe (Windows only). */
export function windowsRegistry(): RegistryAccess {
  const reg = (args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile('reg.exe', args, { windowsHide: true, encoding: 'utf8' }, (err, stdout) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout });
      });
    });
  return {
    async query() {
      const r = await reg(['query', REGISTRY_KEY]);
      // reg exits 1 when the key does not exist, which is the ordinary case on an agent installed without the MSI.
      return r.code === 0 ? r.stdout : undefined;
    },
    async deleteToken() {
      const r = await reg(['delete', REGISTRY_KEY, '/v', 'Token', '/f']);
      if (r.code !== 0) {
        throw new OutpostError('OUTPOST_E_INSTALL_REGISTRY', {
          message: `Cannot delete the enrollment token from ${REGISTRY_KEY} (reg.exe exited ${r.code}); delete the Token value by hand`,
        });
      }
    },
  };
}

/** Codes after which the same token can never work: it is deleted rather than kept for a retry. */
const FINAL = new Set([
  'OUTPOST_E_ENROLL_TOKEN_INVALID',
  'OUTPOST_E_ENROLL_TOKEN_EXPIRED',
  'OUTPOST_E_ENROLL_TOKEN_EXHAUSTED',
  'OUTPOST_E_ENROLL_TOKEN_REVOKED',
  'OUTPOST_E_CONFIG_INVALID',
]);

/** What happened: nothing to do, enrolled now, already enrolled (token dropped), or failed (see the log). */
export type RegistryEnrollmentOutcome = 'none' | 'enrolled' | 'already-enrolled' | 'failed-kept' | 'failed-deleted';

/**
 * The release root the installer pinned (UPDATE_ROOT_SHA256), fetched from the collector; or the outcome when it
 * cannot be had: the token is deleted when the root is not the pinned one, kept when it could not be fetched.
 */
async function registryReleaseRoot(
  server: string,
  values: { caFingerprint?: string | undefined; updateRootSha256: string },
  rootFile: string,
  opts: { stateDir: string; registry: RegistryAccess },
  log: Logger,
): Promise<ReleaseRoot | RegistryEnrollmentOutcome> {
  try {
    return await pinnedReleaseRoot(
      { updateRootFile: rootFile, stateDir: opts.stateDir },
      {
        server,
        caFingerprint: values.caFingerprint,
        sha256: normalizeRootSha256(values.updateRootSha256),
      },
    );
  } catch (err) {
    const e = err instanceof OutpostError ? err : undefined;
    if (e?.code === 'OUTPOST_E_INSTALL_ARGUMENTS' || e?.details?.reason === 'mismatch') {
      await opts.registry.deleteToken();
      log.error(
        { err, code: e.code },
        'the release root is not the pinned one (UPDATE_ROOT_SHA256); deleted the enrollment token, nothing enrolled',
      );
      return 'failed-deleted';
    }
    log.warn({ err, code: e?.code }, 'the release root could not be fetched; the token is kept for the next start');
    return 'failed-kept';
  }
}

/**
 * Enrolls from the registry when it holds a server and a token and this machine is not enrolled yet. Never throws
 * for an enrollment failure (the caller goes on, and `run` then reports the missing configuration): it logs why.
 */
export async function enrollFromRegistry(opts: {
  configFile: string;
  stateDir: string;
  logger: Logger;
  registry: RegistryAccess;
}): Promise<RegistryEnrollmentOutcome> {
  const output = await opts.registry.query();
  if (output === undefined) return 'none';
  const values = parseRegQuery(output);
  if (!values.token) return 'none';
  const log = opts.logger.child({ component: 'registry-enrollment', key: REGISTRY_KEY });
  if (existsSync(opts.configFile)) {
    // Enrolled already (an upgrade or repair re-ran the MSI with a token): the token has no use left.
    await opts.registry.deleteToken();
    log.info({ configFile: opts.configFile }, 'already enrolled; deleted the enrollment token left by the installer');
    return 'already-enrolled';
  }
  if (!values.server) {
    await opts.registry.deleteToken();
    log.error('the installer left a token but no server (SERVER=…); deleted the token, nothing enrolled');
    return 'failed-deleted';
  }
  // The release root first: a collector serving another root than the admin pinned gets no enrollment at all.
  const rootFile = join(dirname(opts.configFile), UPDATE_ROOT_NAME);
  let root: ReleaseRoot | undefined;
  if (values.updateRootSha256) {
    const pinned = await registryReleaseRoot(
      values.server,
      { caFingerprint: values.caFingerprint, updateRootSha256: values.updateRootSha256 },
      rootFile,
      opts,
      log,
    );
    if (typeof pinned === 'string') return pinned;
    root = pinned;
  }
  try {
    const config = await enroll({
      server: values.server,
      token: values.token,
      caFingerprint: values.caFingerprint,
      configFile: opts.configFile,
      stateDir: opts.stateDir,
      logger: log,
    });
    if (root)
      trustReleaseRoot(
        { updateRootFile: rootFile, targetUpdateRootFile: rootFile, configFile: opts.configFile },
        config,
        root,
      );
  } catch (err) {
    const code = err instanceof OutpostError ? err.code : undefined;
    if (code && FINAL.has(code)) {
      await opts.registry.deleteToken();
      log.error({ err, code }, 'enrolling from the installer failed for good; deleted the enrollment token');
      return 'failed-deleted';
    }
    log.warn({ err, code }, 'enrolling from the installer failed; the token is kept for the next start');
    return 'failed-kept';
  }
  await opts.registry.deleteToken();
  log.info(
    { server: values.server, releaseRoot: root !== undefined },
    'enrolled from the installer; deleted the enrollment token',
  );
  return 'enrolled';
}
