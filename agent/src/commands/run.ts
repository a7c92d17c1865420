/** `outpost-agent run`: the agent in the foreground, what the service manager starts. */
import { printCliError } from '@outpost/shared';
import { readAgentConfig } from '../config/index.js';
import { createLogger } from '../log.js';
import {
  AgentRuntime,
  enrollFromRegistry,
  installSafetyNet,
  scheduleMemoryRelease,
  watchStopChannel,
  windowsRegistry,
} from '../runtime/index.js';
import { UPDATE_RESTART_EXIT_CODE } from '../update/index.js';
import { AGENT_VERSION } from '../version.js';
import type { CliGlobals } from './globals.js';
import { notEnrolledHere } from './not-enrolled.js';

/** The run flags, as cli.ts parsed them. */
export interface RunFlags {
  testEvents: number;
  testInterval: number;
}

/** Starts the runtime and stops it on SIGTERM/SIGINT (or the Windows host's stop line). */
export async function runCommand(opts: RunFlags, g: CliGlobals): Promise<void> {
  let runtime: AgentRuntime | undefined;
  try {
    if (process.platform === 'win32') {
      // The MSI's SERVER/TOKEN/CA_FINGERPRINT, used once at the first start (runtime/registry-enrollment.ts).
      const registry = windowsRegistry();
      const logger = createLogger(g.logLevel ?? 'info');
      await enrollFromRegistry({ configFile: g.config, stateDir: g.stateDir, logger, registry });
    }
    const config = readAgentConfig(g.config);
    const logger = createLogger(config.logLevel ?? g.logLevel ?? 'info');
    installSafetyNet(logger); // a stray rejection must not end every live session (runtime/safety-net.ts)
    runtime = new AgentRuntime(config, {
      logger,
      testEvents: opts.testEvents > 0 ? { count: opts.testEvents, intervalMs: opts.testInterval } : undefined,
      // After an update flipped the pointer: flush the outbox, then exit so the service manager starts the new one.
      onRestart: () => void runtime?.stop().finally(() => process.exit(UPDATE_RESTART_EXIT_CODE)),
    });
    await runtime.start();
    logger.info({ agentId: config.agentId, server: config.server, version: AGENT_VERSION }, 'agent running');
    const stopRelease = scheduleMemoryRelease(logger);
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'stopping');
      stopRelease();
      void runtime?.stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    // Under the Windows service host, "stop" or the end of stdin (runtime/stop-channel.ts).
    if (process.env.OUTPOST_STOP_CHANNEL === 'stdin') watchStopChannel(process.stdin, (r) => shutdown(`stdin ${r}`));
  } catch (err) {
    printCliError(notEnrolledHere(err, g));
    await runtime?.stop().catch(() => undefined);
  }
}
