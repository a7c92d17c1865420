/** Starts a collector: TLS material, the app, and its listeners. Prints nothing: the CLI decides what to show. */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { buildApp, type Collector } from './app.js';
import { agentsListenSeparately, type Clock, type CollectorSettings, systemClock } from './config.js';
import { ensureCertificate } from './tls/index.js';

/** A running collector and where it listens. */
export interface RunningCollector {
  collector: Collector;
  apiUrl: string;
  agentUrl: string;
  /** SHA-256 fingerprint of the TLS certificate (undefined with TLS off). */
  fingerprint: string | undefined;
  certificateGenerated: boolean;
  close(): Promise<void>;
}

function urlOf(address: AddressInfo, tls: boolean): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${tls ? 'https' : 'http'}://${host}:${address.port}`;
}

/** Builds and starts listening; stops cleanly on failure. */
export async function startServer(
  settings: CollectorSettings,
  deps: { logger: Logger; clock?: Clock },
): Promise<RunningCollector> {
  // A port that is taken is found before anything is written: no database or certificate left behind by a start
  // that could not listen. (The real listen below still reports a port taken in between.)
  await assertCanListen('api', settings.api.host, settings.api.port);
  if (agentsListenSeparately(settings) && settings.agents)
    await assertCanListen('agents', settings.agents.host, settings.agents.port);
  if (settings.dataDir !== ':memory:') prepareDataDir(settings.dataDir);
  // With PostgreSQL a generated identity is the deployment's, loaded from the database by buildApp instead.
  const fromDatabase = Boolean(settings.storage.url) && !settings.tls.certFile && !settings.tls.keyFile;
  const tls =
    settings.tls.enabled && !fromDatabase
      ? await ensureCertificate({
          dataDir: settings.dataDir,
          certFile: settings.tls.certFile,
          keyFile: settings.tls.keyFile,
          hostnames: settings.tls.hostnames,
          logger: deps.logger,
        })
      : undefined;
  const collector = await buildApp({
    ...settings,
    clock: deps.clock ?? systemClock,
    logger: deps.logger,
    tlsMaterial: tls,
  });
  let listening = `api ${settings.api.host}:${settings.api.port}`;
  try {
    await collector.api.listen({ host: settings.api.host, port: settings.api.port });
    const apiUrl = urlOf(collector.api.server.address() as AddressInfo, Boolean(collector.tls));
    let agentBase = apiUrl;
    if (agentsListenSeparately(settings) && settings.agents) {
      listening = `agents ${settings.agents.host}:${settings.agents.port}`;
      await collector.agentEndpoint.listen({ host: settings.agents.host, port: settings.agents.port });
      agentBase = urlOf(collector.agentEndpoint.server.address() as AddressInfo, Boolean(collector.tls));
    }
    return {
      collector,
      apiUrl,
      agentUrl: agentBase.replace(/^http/, 'ws'),
      fingerprint: collector.tls?.fingerprint,
      certificateGenerated: tls?.generated ?? collector.tls?.generated ?? false,
      close: () => collector.close(),
    };
  } catch (err) {
    await collector.close();
    const [section, address] = listening.split(' ') as [string, string];
    throw listenError(err, section, address);
  }
}

const LISTEN_ERRORS = ['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'];

/** A failure to listen as a configuration error naming the setting; anything else as it is. */
function listenError(err: unknown, section: string, address: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (!code || !LISTEN_ERRORS.includes(code)) return err;
  return new OutpostError('OUTPOST_E_CONFIG_INVALID', {
    cause: err,
    message: `Cannot listen on ${address} (${section}.host/${section}.port): ${(err as Error).message}`,
    details: { path: `${section}.port`, code },
  });
}

/** Binds the address for a moment and lets it go (port 0 always binds). */
async function assertCanListen(section: string, host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, () => resolve());
    });
  } catch (err) {
    throw listenError(err, section, `${host}:${port}`);
  } finally {
    await new Promise<void>((resolve) => (probe.listening ? probe.close(() => resolve()) : resolve()));
  }
}

/** Creates the data directory, or names it and why it cannot be used, before anything is written into it. */
function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `The data directory ${dir} (dataDir / --data-dir) cannot be used: ${(cause as Error).message}`,
      details: { path: 'dataDir', dir },
    });
  }
}
