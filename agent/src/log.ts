/** The agent's structured logger: JSON lines on stderr, so stdout stays for command results. */
import pino, { type Logger } from 'pino';

/** Creates the logger at the given level. */
export function createLogger(level: string = process.env.OUTPOST_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { svc: 'outpost-agent', pid: process.pid } }, pino.destination(2));
}
