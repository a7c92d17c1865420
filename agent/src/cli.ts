/** `outpost-agent`: flags are parsed here and nowhere else; every command maps to one runtime function. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { endQuietlyOnClosedPipe, OutpostError, printCliError } from '@outpost/shared';
import { Command, InvalidArgumentError } from 'commander';
import { defaultPaths, readAgentConfig } from './config/index.js';
import { installCommands } from './install/index.js';
import { inventoryCommand } from './inventory/cli.js';
import { createLogger } from './log.js';
import {
  AgentRuntime,
  type AgentStatusFile,
  enroll,
  enrollFromRegistry,
  installSafetyNet,
  watchStopChannel,
  windowsRegistry,
} from './runtime/index.js';
import { UPDATE_RESTART_EXIT_CODE, watchUpdate } from './update/index.js';
import { AGENT_VERSION } from './version.js';

/** A diagnostic count or interval: a whole number up to a million (`1e20` test events is a typo, not a plan). */
const positiveInt = (v: string) => {
  const n = v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > 1_000_000)
    throw new InvalidArgumentError('expected a whole number from 0 to 1000000');
  return n;
};

endQuietlyOnClosedPipe();

const defaults = defaultPaths();
const program = new Command('outpost-agent')
  .description('The Outpost agent: reports this machine to an Outpost collector over one outbound WebSocket.')
  .version(AGENT_VERSION)
  .option(
    '-c, --config <file>',
    `configuration file (default: ${defaults.configFile}; OUTPOST_AGENT_CONFIG sets another)`,
  )
  .option(
    '--log-level <level>',
    'fatal, error, warn, info, debug or trace: JSON log lines on stderr (default: info for `run`, none for the other commands; OUTPOST_LOG_LEVEL sets it too)',
  )
  .showHelpAfterError();

program
  .command('enroll')
  .description(
    'Enroll this machine with a collector using an enrollment token (creates the key pair, writes the configuration).',
  )
  .requiredOption('--server <url>', 'collector URL, e.g. https://outpost.example.com:8443')
  .requiredOption('--token <token>', 'enrollment token from `outpost tokens create`')
  .option(
    '--ca-fingerprint <sha256>',
    "pin the collector's certificate by its SHA-256 fingerprint (printed by `outpost serve`)",
  )
  .option(
    '--state-dir <dir>',
    `directory for the key, the outbox and the status file (default: beside --config, else ${defaults.stateDir})`,
  )
  .option('--force', 're-enroll a machine that is already enrolled (new key, new agent id)', false)
  .action(async (o: { server: string; token: string; caFingerprint?: string; stateDir?: string; force: boolean }) => {
    const g = globals();
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
  });

program
  .command('run')
  .description('Run the agent in the foreground (what the service manager starts).')
  .option('--test-events <count>', 'emit this many diagnostic events to check the pipeline end to end', positiveInt, 0)
  .option('--test-interval <ms>', 'milliseconds between diagnostic events', positiveInt, 100)
  .action(async (opts: { testEvents: number; testInterval: number }) => {
    const g = globals();
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
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'stopping');
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
  });

program
  .command('status')
  .description('Show the enrollment, the connection state and the outbox backlog of this machine’s agent.')
  .option('--json', 'print JSON', false)
  .action((opts: { json: boolean }) => {
    const g = globals();
    try {
      const config = readAgentConfig(g.config);
      let status: AgentStatusFile | undefined;
      try {
        status = JSON.parse(readFileSync(join(config.stateDir, 'status.json'), 'utf8')) as AgentStatusFile;
      } catch {
        // No status file yet: the agent never ran on this machine; reported below as "not running".
        status = undefined;
      }
      const running = status !== undefined && isAlive(status.pid) && Date.now() - status.updatedAt < 30_000;
      const summary = {
        agentId: config.agentId,
        server: config.server,
        clientId: config.clientId,
        siteId: config.siteId,
        running,
        status: status ?? null,
      };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      const lines = [
        `agent     ${config.agentId}`,
        `server    ${config.server}${config.caFingerprint ? ' (certificate pinned)' : ''}`,
        `site      ${config.siteId} (client ${config.clientId})`,
        `process   ${running ? `running, pid ${status!.pid}, version ${status!.version}` : 'not running'}`,
      ];
      if (status) {
        lines.push(`state     ${status.state} since ${new Date(status.since).toISOString()}`);
        lines.push(
          `outbox    ${status.outbox.pending} pending, ${status.outbox.acked} acknowledged, ${status.outbox.droppedTotal} dropped`,
        );
        if (status.lastError) lines.push(`last err  ${status.lastError}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    } catch (err) {
      printCliError(notEnrolledHere(err, g));
    }
  });

program
  .command('update-watch')
  .description(
    'Watch an update in flight and roll it back if the new version does not become healthy (started by the agent itself from the old version; docs/0010-releases.md).',
  )
  .requiredOption('--state-dir <dir>', 'the agent state directory holding update/marker.json')
  .action(async (o: { stateDir: string }) => {
    const logger = createLogger(globals().logLevel ?? 'info').child({ component: 'update-watch', pid: process.pid });
    try {
      const result = await watchUpdate(o.stateDir, { log: (msg, data) => logger.info(data ?? {}, msg) });
      logger.info({ result }, 'watch ended');
    } catch (err) {
      logger.error({ err }, 'watch failed');
      process.exitCode = 1;
    }
  });

inventoryCommand(program, printCliError);
installCommands(program);

/**
 * The global flags, defaulted: the configuration file from --config, else OUTPOST_AGENT_CONFIG, else the platform's
 * place; the log level from --log-level, else OUTPOST_LOG_LEVEL, else undefined (each command picks its own).
 */
function globals(): { config: string; stateDir: string; logLevel: string | undefined; configFrom: string } {
  const g = program.opts<{ config?: string; logLevel?: string }>();
  // With --config alone the state lives beside the file, as with OUTPOST_AGENT_CONFIG alone.
  const paths = g.config ? defaultPaths({ ...process.env, OUTPOST_AGENT_CONFIG: g.config }) : defaults;
  const configFrom = g.config
    ? '--config'
    : process.env.OUTPOST_AGENT_CONFIG
      ? 'OUTPOST_AGENT_CONFIG'
      : `the default ${process.getuid?.() === 0 ? 'for root' : 'for this user'}`;
  return {
    config: paths.configFile,
    stateDir: paths.stateDir,
    logLevel: g.logLevel || process.env.OUTPOST_LOG_LEVEL || undefined,
    configFrom,
  };
}

/** A missing configuration, said with where the path came from and how to give another. */
function notEnrolledHere(err: unknown, g: { config: string; configFrom: string }): unknown {
  if (!(err instanceof OutpostError) || err.code !== 'OUTPOST_E_NOT_ENROLLED') return err;
  return new OutpostError('OUTPOST_E_NOT_ENROLLED', {
    cause: err,
    message: `No agent configuration at ${g.config} (${g.configFrom}); an agent enrolled with another file (\`pnpm demo\`'s is .demo/agent/agent.json in the checkout) is found with --config FILE or OUTPOST_AGENT_CONFIG`,
    details: { file: g.config },
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: no such process, which is exactly the question asked.
    return false;
  }
}

await program.parseAsync(process.argv);
