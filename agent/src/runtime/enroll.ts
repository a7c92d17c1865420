/** `outpost-agent enroll`: create the key, enroll once with the token, write the configuration. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ENROLLMENT_TOKEN_PATTERN, normalizeFingerprint, OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { type AgentConfig, readAgentConfig, writeAgentConfig } from '../config/index.js';
import { dial } from '../connection/index.js';
import { collectFacts } from '../facts/index.js';
import { newKey, saveKey } from '../identity/index.js';
import { enrollHello } from './hello.js';

/** What enroll needs. */
export interface EnrollOptions {
  server: string;
  token: string;
  caFingerprint?: string | undefined;
  configFile: string;
  stateDir: string;
  force?: boolean;
  logger: Logger;
}

/**
 * Enrolls this machine; returns the written configuration. Refuses to re-enroll an enrolled agent without force.
 * Nothing is written until the collector has accepted the enrollment: the new key lives in memory until then, so
 * a refused or failed enrollment leaves no key file behind and a forced one that fails keeps the old identity.
 */
export async function enroll(opts: EnrollOptions): Promise<AgentConfig> {
  let existing: AgentConfig | undefined;
  try {
    existing = readAgentConfig(opts.configFile);
  } catch (err) {
    if (
      !(err instanceof OutpostError) ||
      (err.code !== 'OUTPOST_E_NOT_ENROLLED' && err.code !== 'OUTPOST_E_CONFIG_INVALID')
    )
      throw err;
  }
  if (existing && !opts.force) {
    throw new OutpostError('OUTPOST_E_ALREADY_ENROLLED', {
      message: `This machine is already enrolled as ${existing.agentId} (${opts.configFile}); pass --force to enroll again`,
      details: { agentId: existing.agentId, file: opts.configFile },
    });
  }
  let server: URL;
  try {
    server = new URL(opts.server);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `--server ${opts.server} is not a URL (expected https://host:port)`,
    });
  }
  if (!['https:', 'wss:', 'http:', 'ws:'].includes(server.protocol)) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `--server must be https://…, got ${server.protocol}`,
    });
  }
  let caFingerprint: string | undefined;
  try {
    caFingerprint = opts.caFingerprint ? normalizeFingerprint(opts.caFingerprint) : undefined;
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `--ca-fingerprint: ${(cause as Error).message}`,
    });
  }
  const token = opts.token.trim();
  if (!ENROLLMENT_TOKEN_PATTERN.test(token)) {
    throw new OutpostError('OUTPOST_E_ENROLL_TOKEN_INVALID', {
      message: `--token is not an enrollment token (${token.length} characters): expected oet_<12 hex digits>_<43 characters>, as \`outpost tokens create\` prints it`,
    });
  }
  // Always a fresh key: a forced re-enrollment's old identity stays revocable on its own, and a key left by an
  // earlier attempt is never presented again.
  const key = newKey(opts.stateDir);
  const facts = await collectFacts();
  const session = await dial({
    server: opts.server,
    caFingerprint,
    hello: (nonce) => enrollHello(key, token, facts, nonce),
    logger: opts.logger,
  });
  const { welcome } = session;
  session.close(1000, 'enrolled');
  const config: AgentConfig = {
    server: server.origin,
    ...(caFingerprint ? { caFingerprint } : {}),
    agentId: welcome.agentId,
    clientId: welcome.clientId,
    siteId: welcome.siteId,
    stateDir: opts.stateDir,
    ...(welcome.sessionKey ? { sessionKey: welcome.sessionKey } : {}),
  };
  writeEnrollment(key, opts.configFile, config);
  opts.logger.info({ agentId: welcome.agentId, siteId: welcome.siteId, configFile: opts.configFile }, 'enrolled');
  return config;
}

/**
 * Writes the key, then the configuration. If either write fails, what this call created is removed again (the key
 * file, and the state and configuration folders when it made them) and a replaced key is put back.
 */
function writeEnrollment(key: { file: string; pem: string }, configFile: string, config: AgentConfig): void {
  const created = [dirname(key.file), dirname(configFile)].map(topmostMissing).filter((d) => d !== undefined);
  const previousKey = existsSync(key.file) ? readFileSync(key.file, 'utf8') : undefined;
  try {
    saveKey(key);
    writeAgentConfig(configFile, config);
  } catch (cause) {
    try {
      if (previousKey === undefined) rmSync(key.file, { force: true });
      else saveKey({ file: key.file, pem: previousKey });
      // Folders that did not exist before this call hold only what it wrote.
      for (const d of created) rmSync(d, { recursive: true, force: true });
    } catch (undo) {
      throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
        cause,
        message: `Enrolled as ${config.agentId}, but cannot write ${key.file} or ${configFile} (${(cause as Error).message}), nor undo it (${(undo as Error).message})`,
        details: { file: configFile },
      });
    }
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `Enrolled as ${config.agentId}, but cannot write ${key.file} or ${configFile}: ${(cause as Error).message}; nothing was left behind, enroll again with a new token`,
      details: { file: configFile },
    });
  }
}

/** The highest folder on the way to `dir` that does not exist yet (what `mkdir -p` would create first). */
function topmostMissing(dir: string): string | undefined {
  let missing: string | undefined;
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing = d;
    if (dirname(d) === d) break;
  }
  return missing;
}
