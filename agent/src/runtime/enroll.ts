/** `outpost-agent enroll`: create the key, enroll once with the token, write the configuration. */
import { rmSync } from 'node:fs';
import { normalizeFingerprint, OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { type AgentConfig, readAgentConfig, writeAgentConfig } from '../config/index.js';
import { dial } from '../connection/index.js';
import { collectFacts } from '../facts/index.js';
import { keyFileIn, loadOrCreateKey } from '../identity/index.js';
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

/** Enrolls this machine; returns the written configuration. Refuses to re-enroll an enrolled agent without force. */
export async function enroll(opts: EnrollOptions): Promise<AgentConfig> {
  try {
    const existing = readAgentConfig(opts.configFile);
    if (!opts.force) {
      throw new OutpostError('OUTPOST_E_CONFLICT', {
        message: `This machine is already enrolled as ${existing.agentId} (${opts.configFile}); pass --force to enroll again`,
      });
    }
  } catch (err) {
    if (
      !(err instanceof OutpostError) ||
      (err.code !== 'OUTPOST_E_NOT_ENROLLED' && err.code !== 'OUTPOST_E_CONFIG_INVALID')
    )
      throw err;
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
  // A forced re-enrollment gets a fresh key: the old identity stays revocable on its own.
  if (opts.force) {
    rmSync(keyFileIn(opts.stateDir), { force: true });
  }
  const keys = loadOrCreateKey(opts.stateDir, true);
  const facts = await collectFacts();
  const session = await dial({
    server: opts.server,
    caFingerprint,
    hello: (nonce) => enrollHello(keys, opts.token, facts, nonce),
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
  writeAgentConfig(opts.configFile, config);
  opts.logger.info({ agentId: welcome.agentId, siteId: welcome.siteId, configFile: opts.configFile }, 'enrolled');
  return config;
}
