/**
 * How the agent answers the collector: one handler per collector→agent message type, and the long-running
 * components (inventory scheduler, metrics sampler, shell sessions…) that live as long as the runtime.
 * Each concern exports its handlers and component; `command-table.ts` lists them. The table is typed so that a new
 * collector message type without a handler fails to compile (the opposite of one string switch over every command).
 */
import type { AgentMessage, SequencedBody } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/index.js';
import type { Session, SessionMessage } from '../connection/index.js';
import type { Clock } from '../time.js';

/** Collector messages that are commands (the stream acknowledgement is the runtime's own business). */
export type CommandType = Exclude<SessionMessage['type'], 'stream.ack'>;
/** The message of one command type. */
export type CommandOf<K extends CommandType> = Extract<SessionMessage, { type: K }>;

/** What the runtime lends to components and handlers. */
export interface AgentContext {
  config: AgentConfig;
  logger: Logger;
  /** The time components decide with (expiry, durations, deadlines); tests pass a driven one. */
  clock: Clock;
  /** Puts a message into the durable outbox; it reaches the collector exactly once, whenever a session is up. */
  report(body: SequencedBody): Promise<number>;
  /** Stops the runtime cleanly and exits so the service manager restarts it (after an update's pointer flip). */
  restart?(reason: string): void;
}

/** What a handler gets for one command: the runtime's context plus the live session it arrived on. */
export interface CommandContext extends AgentContext {
  session: Session;
  /** Sends an unsequenced reply on this session (dropped if the session has closed). */
  reply(msg: AgentMessage): void;
}

/** Handles one command. Throwing (or rejecting) is logged with the command's type; it never ends the session. */
export type CommandHandler<K extends CommandType> = (msg: CommandOf<K>, ctx: CommandContext) => void | Promise<void>;

/** Every command type mapped to its handler. */
export type CommandTable = { [K in CommandType]: CommandHandler<K> };

/** A part of the agent that runs for the runtime's whole life. */
export interface AgentComponent {
  readonly name: string;
  start(ctx: AgentContext): void | Promise<void>;
  /** Called for every new authenticated session (after the outbox resync), e.g. to send a snapshot. */
  onSession?(session: Session, ctx: AgentContext): void;
  stop(): void | Promise<void>;
}

/** Runs the handler for one command, logging failures with the command's type and id instead of throwing. */
export function dispatchCommand(table: CommandTable, msg: SessionMessage, ctx: CommandContext): void {
  if (msg.type === 'stream.ack') return;
  const handler = table[msg.type] as CommandHandler<CommandType>;
  const id = (msg as { id?: unknown }).id;
  try {
    const result = handler(msg as CommandOf<CommandType>, ctx);
    if (result instanceof Promise) {
      result.catch((err: unknown) => ctx.logger.error({ err, command: msg.type, id }, 'command failed'));
    }
  } catch (err) {
    ctx.logger.error({ err, command: msg.type, id }, 'command failed');
  }
}
