/**
 * The long-running agent's process-wide safety net. A stray promise rejection anywhere (a component, a transfer, a
 * timer) would otherwise end the process and every live session on the machine with it: it is logged as a structured
 * error with its stack and the agent keeps running. An uncaught exception still ends the process, since the state it
 * interrupted may be inconsistent, but only after a fatal log line says what it was; the service manager restarts it.
 */
import type { Logger } from 'pino';

/** The error to log for a rejection reason, which need not be an Error (`Promise.reject('x')`). */
function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(`non-error rejection: ${String(reason)}`);
}

/**
 * Installs the handlers on `proc` (the running process by default) and returns a function that removes them.
 * `exit` ends the process after an uncaught exception (injected so a test can watch it).
 */
export function installSafetyNet(
  logger: Logger,
  proc: NodeJS.Process = process,
  exit: (code: number) => void = (code) => proc.exit(code),
): () => void {
  const onRejection = (reason: unknown) => {
    logger.error(
      { err: asError(reason), code: 'OUTPOST_E_INTERNAL', event: 'unhandledRejection' },
      'unhandled promise rejection; the agent keeps running',
    );
  };
  const onException = (err: Error, origin: string) => {
    logger.fatal(
      { err, code: 'OUTPOST_E_INTERNAL', event: 'uncaughtException', origin },
      'uncaught exception; exiting (state may be inconsistent, the service manager restarts the agent)',
    );
    logger.flush();
    exit(1);
  };
  proc.on('unhandledRejection', onRejection);
  proc.on('uncaughtException', onException);
  return () => {
    proc.off('unhandledRejection', onRejection);
    proc.off('uncaughtException', onException);
  };
}
