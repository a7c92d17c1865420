/** `outpost serve`: read the configuration, start the collector, print where it listens and what to pin. */

import { OutpostError } from '@outpost/shared';
import pino from 'pino';
import { checkSettings, mergeSettings, readSettingsFile } from '../config.js';
import { printRows, printText } from './output.js';

/** Flags of `outpost serve` (undefined: use the file or the default). */
export interface ServeFlags {
  config?: string;
  dataDir?: string;
  host?: string;
  port?: number;
  agentsHost?: string;
  agentsPort?: number;
  tls?: boolean;
  cert?: string;
  key?: string;
  logLevel?: string;
  installService?: boolean;
  uninstallService?: boolean;
  purge?: boolean;
  root?: string;
}

/** Starts the collector and keeps it running until SIGINT/SIGTERM. */
export async function serve(flags: ServeFlags): Promise<void> {
  if (flags.installService || flags.uninstallService) return serviceCommand(flags);
  const file = flags.config ? readSettingsFile(flags.config) : {};
  const merged = mergeSettings(file, {
    dataDir: flags.dataDir,
    'api.host': flags.host,
    'api.port': flags.port,
    'agents.host':
      flags.agentsHost ??
      (flags.agentsPort !== undefined
        ? (flags.host ?? (file.api as { host?: string } | undefined)?.host ?? '127.0.0.1')
        : undefined),
    'agents.port': flags.agentsPort,
    'tls.enabled': flags.tls === false ? false : undefined,
    'tls.certFile': flags.cert,
    'tls.keyFile': flags.key,
    'log.level': flags.logLevel,
  });
  const settings = checkSettings(merged, flags.config ?? 'flags');
  const logger = pino({ level: settings.log.level, base: { svc: 'outpost-collector', pid: process.pid } });
  // Loaded once the configuration is known good: a refused one is reported without loading the whole server.
  const { startServer } = await import('../server.js');
  const running = await startServer(settings, { logger });
  const out: string[] = [
    `Outpost collector listening`,
    `  API and console  ${running.apiUrl}`,
    `  agent endpoint   ${running.agentUrl}/v1/agent`,
  ];
  if (running.fingerprint) {
    out.push(
      `  TLS certificate  SHA-256 ${running.fingerprint}${running.certificateGenerated ? ' (generated now, self-signed)' : ''}`,
    );
    out.push(
      `  agents enroll with: outpost-agent enroll --server ${running.agentUrl.replace(/^ws/, 'http')} --token <token> --ca-fingerprint ${running.fingerprint}`,
    );
  }
  if (running.collector.initialAdmin) {
    out.push(
      '',
      '  First start: an admin account was created. This password is shown once:',
      `    e-mail    ${running.collector.initialAdmin.email}`,
      `    password  ${running.collector.initialAdmin.password}`,
    );
  }
  printText(`${out.join('\n')}\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await running.close();
    process.exit(0);
  };
  // SIGHUP re-reads the detection policy file; a bad file is logged and the policies in force stay.
  process.on('SIGHUP', () => {
    try {
      running.collector.policies.reload();
    } catch {
      // already logged with the reason by the reload
    }
  });
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** `--install-service` / `--uninstall-service`: prints each step and what it did. */
async function serviceCommand(flags: ServeFlags): Promise<void> {
  const service = await import('../service/index.js');
  const installers = await import('../installers/index.js');
  const root = flags.root ?? '';
  service.requireRoot(root);
  const systemctl = root && root !== '/' ? undefined : service.runSystemctl;
  let steps: import('../service/index.js').StepResult[];
  if (flags.uninstallService) {
    steps = service.uninstallService({ root, purge: flags.purge === true, systemctl });
  } else {
    if (!installers.isSingleExecutable())
      throw new OutpostError('OUTPOST_E_SERVICE_INSTALL', {
        message: 'Install the service from the packaged executable (pnpm package:collector), not from a checkout',
        details: { step: 'check executable' },
      });
    const file = flags.config ? readSettingsFile(flags.config) : {};
    const dir = (file.installers as { dir?: string } | undefined)?.dir;
    steps = service.installService({
      root,
      executable: process.execPath,
      packagesDir: dir ?? installers.pickInstallerDir(installers.defaultInstallerDirs(true)),
      host: flags.host,
      port: flags.port,
      systemctl,
    });
  }
  printRows(
    steps.map((s) => ({ ...s })),
    [
      { key: 'step', title: 'step' },
      { key: 'outcome', title: 'outcome' },
      { key: 'path', title: 'path' },
    ],
    false,
  );
}
