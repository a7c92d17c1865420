/** `outpost-agent enroll`: creates the key pair and the configuration from an enrollment token. */
import { printCliError } from '@outpost/shared';
import { createLogger } from '../log.js';
import { enroll } from '../runtime/index.js';
import type { CliGlobals } from './globals.js';

/** The enroll flags, as cli.ts parsed them. */
export interface EnrollFlags {
  server: string;
  token: string;
  caFingerprint?: string;
  stateDir?: string;
  force: boolean;
}

/** Enrolls and prints who this machine now is; a failure is printed as a coded error. */
export async function enrollCommand(o: EnrollFlags, g: CliGlobals): Promise<void> {
  const opts = { ...o, stateDir: o.stateDir ?? g.stateDir };
  // A command a person runs prints sentences; its JSON log lines only when asked for (--log-level).
  const logger = createLogger(g.logLevel ?? 'silent');
  try {
    const config = await enroll({ ...opts, configFile: g.config, logger });
    process.stdout.write(
      `enrolled as ${config.agentId} (client ${config.clientId}, site ${config.siteId})\nconfiguration: ${g.config}\n`,
    );
  } catch (err) {
    printCliError(err);
  }
}
