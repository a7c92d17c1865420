/** The `file.open` handler: ticket, path confinement, then a FileChannel on the socket's hub. */
import { type FileOpen, OutpostError } from '@outpost/shared';
import type { CommandContext } from '../runtime/commands.js';
import { ChannelHub } from '../shell/hub.js';
import type { ShellService } from '../shell/service.js';
import { confinePath } from './paths.js';
import { FileChannel } from './transfer.js';

/** Largest upload the agent accepts when the config does not say. */
export const DEFAULT_FILE_MAX_BYTES = 4 * 1024 ** 3;

/** Builds the handler; tickets are checked by the shell service's guard (one used-ticket memory per agent). */
export function fileOpenHandler(shell: ShellService) {
  return async (msg: FileOpen, ctx: CommandContext): Promise<void> => {
    const hub = ChannelHub.of(ctx.session, ctx.logger);
    try {
      if (msg.expiresAt < Date.now())
        throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: 'the open command has expired' });
      if (!shell.guard) throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: 'no collector session key' });
      shell.guard.learn(ctx.session.welcome.sessionKey, ctx.config.stateDir, ctx.logger);
      shell.guard.admit(msg.ticket, msg.sessionId, msg.direction === 'download' ? 'file.read' : 'file.write');
      const mustExist = msg.direction === 'download' || (msg.offset > 0 && msg.resume !== true);
      const path = confinePath(msg.path, ctx.config.fileRoots ?? [], mustExist);
      const max = ctx.config.fileMaxBytes ?? DEFAULT_FILE_MAX_BYTES;
      const ch = await FileChannel.start(ctx.session, msg, path, max, ctx.logger, () => hub.remove(msg.channel, ch));
      hub.add(msg.channel, ch);
    } catch (err) {
      const e =
        err instanceof OutpostError
          ? err
          : new OutpostError('OUTPOST_E_INTERNAL', { cause: err, message: String((err as Error)?.message) });
      ctx.logger.warn({ sessionId: msg.sessionId, code: e.code, reason: e.message }, 'file transfer refused');
      ctx.reply({
        type: 'shell.refused',
        channel: msg.channel,
        sessionId: msg.sessionId,
        code: e.code,
        message: e.message.slice(0, 500),
      });
    }
  };
}
