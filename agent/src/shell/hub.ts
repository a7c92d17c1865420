/**
 * Routes binary frames of one collector socket to the channels open on it (shell sessions, file transfers), and
 * closes every channel of a socket when it goes away (losing the collector ends the sessions it carried).
 */
import { type ChannelFrame, decodeFrame, OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { Session } from '../connection/index.js';

/** One open channel on a socket. */
export interface Channel {
  readonly sessionId: string;
  onFrame(frame: ChannelFrame): void;
  /** Ends the channel and releases everything it holds (processes, files). */
  close(reason: string): void;
}

const hubs = new WeakMap<Session, ChannelHub>();

/** The channels of one socket. */
export class ChannelHub {
  readonly channels = new Map<number, Channel>();

  private constructor(
    readonly session: Session,
    private readonly logger: Logger,
  ) {
    session.onFrame((data) => this.#onFrame(data));
    void session.closed.then(() => this.closeAll('collector connection lost'));
  }

  /** The hub of a socket (created and attached on first use). */
  static of(session: Session, logger: Logger): ChannelHub {
    let hub = hubs.get(session);
    if (!hub) {
      hub = new ChannelHub(session, logger);
      hubs.set(session, hub);
    }
    return hub;
  }

  /** Every hub's channels, to close them all when the agent stops. */
  add(channel: number, ch: Channel): void {
    if (this.channels.has(channel))
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: `channel ${channel} is already open` });
    this.channels.set(channel, ch);
  }

  remove(channel: number, ch: Channel): void {
    if (this.channels.get(channel) === ch) this.channels.delete(channel);
  }

  close(channel: number, reason: string): void {
    const ch = this.channels.get(channel);
    if (!ch) return;
    this.channels.delete(channel);
    ch.close(reason);
  }

  closeAll(reason: string): void {
    for (const [id, ch] of [...this.channels]) {
      this.channels.delete(id);
      try {
        ch.close(reason);
      } catch (err) {
        this.logger.error({ err, channel: id }, 'closing a channel failed');
      }
    }
  }

  #onFrame(data: Buffer): void {
    let frame: ChannelFrame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      this.logger.warn({ err }, 'dropping a malformed channel frame');
      return;
    }
    const ch = this.channels.get(frame.channel);
    // Frames may still arrive for a channel that just closed: drop them.
    if (!ch) return;
    try {
      ch.onFrame(frame);
    } catch (err) {
      this.logger.error({ err, channel: frame.channel }, 'channel frame handler failed; closing the channel');
      this.close(frame.channel, 'internal error');
    }
  }
}
