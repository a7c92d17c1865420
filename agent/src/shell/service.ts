/**
 * The shell component: admits `shell.open` only with a valid, fresh, unused ticket, spawns the PTY as the right
 * user, and handles resize and close. It owns every live session so stopping the agent kills them all.
 */
import { existsSync } from 'node:fs';
import { OutpostError, type ShellClose, type ShellOpen, type ShellResize } from '@outpost/shared';
import type { AgentConfig } from '../config/index.js';
import type { Session } from '../connection/index.js';
import type { AgentComponent, AgentContext, CommandContext } from '../runtime/commands.js';
import { ChannelHub } from './hub.js';
import { PtyChannel, type ShellCommand } from './pty-channel.js';
import { TicketGuard } from './tickets.js';
import { resolveShellUser, type ShellUser } from './user.js';

/** The shell program for a session. */
export function shellCommand(config: AgentConfig, user: ShellUser): ShellCommand {
  const s = config.shell ?? {};
  const cwd = s.cwd ?? (user.home && existsSync(user.home) ? user.home : '/');
  if (s.command) return { file: s.command, args: s.args ?? [], cwd };
  if (process.platform === 'win32') return { file: 'cmd.exe', args: [], cwd: s.cwd ?? process.cwd() };
  const candidates = [user.shell, '/bin/bash', '/bin/sh'].filter(
    (x): x is string => !!x && !x.endsWith('nologin') && !x.endsWith('false') && existsSync(x),
  );
  return { file: candidates[0] ?? '/bin/sh', args: [], cwd };
}

/** Remote shell sessions on this agent. */
export class ShellService implements AgentComponent {
  readonly name = 'shell';
  guard: TicketGuard | undefined;
  readonly #sessions = new Map<string, PtyChannel>();
  #ctx: AgentContext | undefined;

  start(ctx: AgentContext): void {
    this.#ctx = ctx;
    this.guard = TicketGuard.load(ctx.config.agentId, ctx.config.sessionKey, ctx.config.stateDir);
    if (this.guard.loadError) ctx.logger.error({ err: this.guard.loadError }, this.guard.loadError.message);
  }

  onSession(session: Session, ctx: AgentContext): void {
    this.guard?.learn(session.welcome.sessionKey, ctx.config.stateDir, ctx.logger);
    ChannelHub.of(session, ctx.logger);
  }

  /** The live sessions (for tests and status). */
  get sessions(): ReadonlyMap<string, PtyChannel> {
    return this.#sessions;
  }

  /** `shell.open`: verify the ticket, spawn, answer shell.opened or shell.refused. */
  open = (msg: ShellOpen, ctx: CommandContext): void => {
    const hub = ChannelHub.of(ctx.session, ctx.logger);
    const refuse = (err: unknown) => {
      const e = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_SESSION_REFUSED', { cause: err });
      ctx.logger.warn({ sessionId: msg.sessionId, code: e.code, reason: e.message }, 'shell session refused');
      ctx.reply({
        type: 'shell.refused',
        channel: msg.channel,
        sessionId: msg.sessionId,
        code: e.code,
        message: e.message.slice(0, 500),
      });
    };
    try {
      if (this.#sessions.has(msg.sessionId)) return; // a resent open: idempotent by session
      if (msg.expiresAt < ctx.clock.now())
        throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: 'the open command has expired' });
      this.guard ??= TicketGuard.load(ctx.config.agentId, ctx.config.sessionKey, ctx.config.stateDir);
      this.guard.learn(ctx.session.welcome.sessionKey, ctx.config.stateDir, ctx.logger);
      const claims = this.guard.admit(msg.ticket, msg.sessionId, msg.elevated ? 'shell.elevated' : 'shell');
      const user = resolveShellUser({
        elevated: msg.elevated,
        configuredUser: ctx.config.shell?.user,
        allowElevated: ctx.config.shell?.allowElevated ?? true,
      });
      const command = shellCommand(ctx.config, user);
      const ch = new PtyChannel({
        session: ctx.session,
        open: msg,
        user,
        command,
        logger: ctx.logger,
        onGone: () => {
          this.#sessions.delete(msg.sessionId);
          hub.remove(msg.channel, ch);
        },
      });
      hub.add(msg.channel, ch);
      this.#sessions.set(msg.sessionId, ch);
      ctx.logger.info(
        { sessionId: msg.sessionId, user: claims.user, runAs: user.name, pid: ch.pid, elevated: msg.elevated },
        'shell session opened',
      );
      ctx.reply({ type: 'shell.opened', channel: msg.channel, sessionId: msg.sessionId, pid: ch.pid, user: user.name });
    } catch (err) {
      refuse(err);
    }
  };

  /** `shell.resize`. */
  resize = (msg: ShellResize, ctx: CommandContext): void => {
    const ch = ChannelHub.of(ctx.session, ctx.logger).channels.get(msg.channel);
    if (ch instanceof PtyChannel) ch.resize(msg.cols, msg.rows);
  };

  /** `shell.close` (also ends file transfers on that channel). */
  close = (msg: ShellClose, ctx: CommandContext): void => {
    ChannelHub.of(ctx.session, ctx.logger).close(msg.channel, msg.reason);
  };

  stop(): void {
    // A restart or self-update hangs shells up like a closed terminal: nohup/setsid jobs survive (docs/0009-packaging.md).
    for (const ch of [...this.#sessions.values()]) ch.close('agent stopping', 'hangup');
    this.#ctx?.logger.debug('shell sessions closed');
  }
}
