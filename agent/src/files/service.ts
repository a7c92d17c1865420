/** The `file.open` handler: ticket, the race-free open under a root, then a FileChannel on that handle. */
import { type FileOpen, OutpostError } from '@outpost/shared';
import type { CommandContext } from '../runtime/commands.js';
import { ChannelHub } from '../shell/hub.js';
import type { ShellService } from '../shell/service.js';
import { type OpenMode, openConfined } from './open.js';
import { FileChannel } from './transfer.js';

/** Largest upload the agent accepts when the config does not say. */
export const DEFAULT_FILE_MAX_BYTES = 4 * 1024 ** 3;

/** Builds the handler; tickets are checked by the shell service's guard (one used-ticket memory per agent). */
export function fileOpenHandler(shell: ShellService) {
  return async (msg: FileOpen, ctx: CommandContext): Promise<void> => {
    const hub = ChannelHub.of(ctx.session, ctx.logger);
    try {
      if (msg.expiresAt < ctx.clock.now())
        throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: 'the open command has expired' });
      if (!shell.guard) throw new OutpostError('OUTPOST_E_TICKET_INVALID', { message: 'no collector session key' });
      shell.guard.learn(ctx.session.welcome.sessionKey, ctx.config.stateDir, ctx.logger);
      shell.guard.admit(msg.ticket, msg.sessionId, msg.direction === 'download' ? 'file.read' : 'file.write');
      if (hub.channels.has(msg.channel))
        throw new OutpostError('OUTPOST_E_CONFLICT', { message: `channel ${msg.channel} is already open` });
      // An upload at an offset without resume continues a file that must already be there.
      const mode: OpenMode =
        msg.direction === 'download' ? 'read' : msg.offset > 0 && msg.resume !== true ? 'update' : 'create';
      const fh = await openConfined(msg.path, ctx.config.fileRoots ?? [], mode);
      const max = ctx.config.fileMaxBytes ?? DEFAULT_FILE_MAX_BYTES;
      const ch = await FileChannel.start(ctx.session, msg, fh, max, ctx.logger, () => hub.remove(msg.channel, ch));
      try {
        hub.add(msg.channel, ch);
      } catch (err) {
        ch.close('refused');
        throw err;
      }
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
