/** Starts a collector: TLS material, the app, and its listeners. Prints nothing: the CLI decides what to show. */
import type { AddressInfo } from 'node:net';
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
  const tls = settings.tls.enabled
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
  try {
    await collector.api.listen({ host: settings.api.host, port: settings.api.port });
    const apiUrl = urlOf(collector.api.server.address() as AddressInfo, Boolean(tls));
    let agentBase = apiUrl;
    if (agentsListenSeparately(settings) && settings.agents) {
      await collector.agentEndpoint.listen({ host: settings.agents.host, port: settings.agents.port });
      agentBase = urlOf(collector.agentEndpoint.server.address() as AddressInfo, Boolean(tls));
    }
    return {
      collector,
      apiUrl,
      agentUrl: agentBase.replace(/^http/, 'ws'),
      fingerprint: tls?.fingerprint,
      certificateGenerated: tls?.generated ?? false,
      close: () => collector.close(),
    };
  } catch (err) {
    await collector.close();
    throw err;
  }
}
