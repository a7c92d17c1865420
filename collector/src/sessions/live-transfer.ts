/**
 * One live file transfer on the collector (docs/0007-shell.md, "Files"): relays channel frames between the
 * technician socket and the agent channel with the same credit windows as a shell (so the collector holds at most
 * one window per transfer), forwards the agent's `file.opened` and `file.done`, checks an upload against the
 * SHA-256 the technician announced, and ends everything once on completion, refusal, close or loss.
 */
import {
  CHANNEL_WINDOW_BYTES,
  type ChannelFrame,
  encodeCredit,
  FrameKind,
  OutpostError,
  readCredit,
  rechannel,
} from '@outpost/shared';
import type { WebSocket } from 'ws';
import type { AgentLink, ChannelReply } from '../agents/index.js';
import type { EndInfo } from './live.js';
import { closeReason, type ServerMessage, TECH_CHANNEL } from './wire.js';

/** Upload (technician → agent) or download (agent → technician). */
export type Direction = 'upload' | 'download';

/** How a transfer ended; `sha256` and `size` are the agent's figures for the whole file when it completed. */
export interface TransferEnd extends EndInfo {
  sha256?: string | undefined;
  size?: number | undefined;
}

/** What the agent answered to `file.open`. */
export interface TransferOpened {
  /** Download: the file's size; upload: the offset the agent kept (resume) or was told. */
  size: number;
}

/** What LiveTransfer is built from (one options object, not positional arguments). */
export interface LiveTransferInit {
  id: string;
  agent: AgentLink;
  tech: WebSocket;
  direction: Direction;
  startedAt: number;
  requested: { offset: number; size: number };
  expectedSha256: string | undefined;
  clock: { now(): number };
  onEnd: (t: LiveTransfer, info: TransferEnd) => void;
}

/** The relay for one transfer. */
export class LiveTransfer {
  channel = 0;
  /** Download bytes sent to the technician and not yet credited back. */
  outstandingToTech = 0;
  /** Upload bytes sent to the agent and not yet credited back. */
  outstandingToAgent = 0;
  /** Data bytes relayed (either direction). */
  bytes = 0;
  lastActivity: number;
  ended: TransferEnd | undefined;
  readonly opened: Promise<TransferOpened>;
  #open: { resolve(o: TransferOpened): void; reject(e: OutpostError): void } | undefined;

  readonly id: string;
  readonly agent: AgentLink;
  readonly tech: WebSocket;
  readonly direction: Direction;
  readonly startedAt: number;
  private readonly requested: { offset: number; size: number };
  private readonly expectedSha256: string | undefined;
  private readonly clock: { now(): number };
  private readonly onEnd: (t: LiveTransfer, info: TransferEnd) => void;
  constructor(init: LiveTransferInit) {
    const { id, agent, tech, direction, startedAt, requested, expectedSha256, clock, onEnd } = init;
    this.id = id;
    this.agent = agent;
    this.tech = tech;
    this.direction = direction;
    this.startedAt = startedAt;
    this.requested = requested;
    this.expectedSha256 = expectedSha256;
    this.clock = clock;
    this.onEnd = onEnd;
    this.lastActivity = startedAt;
    this.opened = new Promise((resolve, reject) => {
      this.#open = { resolve, reject };
    });
    this.opened.catch(() => undefined);
  }

  /** True once `file.opened` arrived and the relay runs. */
  get running(): boolean {
    return this.#open === undefined && !this.ended;
  }

  /** Fails the open (no answer, agent lost, technician left) without ending a running transfer. */
  refuseOpen(err: OutpostError): void {
    const o = this.#open;
    this.#open = undefined;
    o?.reject(err);
  }

  #send(msg: ServerMessage): void {
    if (this.tech.readyState === this.tech.OPEN) this.tech.send(JSON.stringify(msg));
  }

  /** A reply from the agent on this transfer's channel. */
  onReply(msg: ChannelReply): void {
    if (this.ended || msg.sessionId !== this.id) return;
    switch (msg.type) {
      case 'file.opened': {
        const o = this.#open;
        if (!o) return;
        this.#open = undefined;
        // Sent here, synchronously: the agent's first Data frames may be handled in the same tick as this reply,
        // and the technician must hear `transfer.ready` before them.
        const upload = this.direction === 'upload';
        this.#send({
          type: 'transfer.ready',
          sessionId: this.id,
          size: upload ? this.requested.size : msg.size,
          offset: upload ? msg.size : this.requested.offset,
        });
        o.resolve({ size: msg.size });
        return;
      }
      case 'shell.refused': {
        const code = msg.code;
        if (this.#open) {
          this.refuseOpen(new OutpostError(agentCode(code), { message: msg.message, details: { agentCode: code } }));
          return;
        }
        this.end({ reason: msg.message, exitCode: null, code }, false);
        return;
      }
      case 'file.done': {
        if (this.#open) return;
        if (this.direction === 'upload' && this.expectedSha256 && this.expectedSha256 !== msg.sha256) {
          this.end(
            {
              reason: `the agent holds SHA-256 ${msg.sha256}, not ${this.expectedSha256}`,
              exitCode: null,
              code: 'OUTPOST_E_CHECKSUM_MISMATCH',
              sha256: msg.sha256,
              size: msg.size,
            },
            false,
          );
          return;
        }
        this.#send({ type: 'transfer.done', sessionId: this.id, size: msg.size, sha256: msg.sha256 });
        this.end({ reason: 'done', exitCode: 0, sha256: msg.sha256, size: msg.size }, false);
        return;
      }
      default:
        return;
    }
  }

  /** A frame from the agent on this transfer's channel (`data` is the received buffer, forwarded in place). */
  fromAgent(frame: ChannelFrame, data: Buffer): void {
    if (!this.running) return;
    switch (frame.kind) {
      case FrameKind.Data: {
        if (this.direction !== 'download') return;
        const n = frame.payload.byteLength;
        this.outstandingToTech += n;
        if (this.outstandingToTech > CHANNEL_WINDOW_BYTES) {
          this.end({ reason: 'agent exceeded its credit', exitCode: null, code: 'OUTPOST_E_UNEXPECTED_MESSAGE' });
          return;
        }
        this.bytes += n;
        this.lastActivity = this.clock.now();
        if (this.tech.readyState === this.tech.OPEN) this.tech.send(rechannel(data, TECH_CHANNEL));
        return;
      }
      case FrameKind.Credit: {
        const n = readCredit(frame.payload);
        if (n === undefined || this.direction !== 'upload') return;
        this.outstandingToAgent = Math.max(0, this.outstandingToAgent - n);
        this.lastActivity = this.clock.now();
        if (this.tech.readyState === this.tech.OPEN) this.tech.send(rechannel(data, TECH_CHANNEL));
        return;
      }
      case FrameKind.End:
        if (this.direction === 'download' && this.tech.readyState === this.tech.OPEN)
          this.tech.send(rechannel(data, TECH_CHANNEL));
        return;
    }
  }

  /** A frame from the technician (`data` is the received buffer, forwarded in place). */
  fromTech(frame: ChannelFrame, data: Buffer): void {
    if (!this.running) return;
    switch (frame.kind) {
      case FrameKind.Data: {
        if (this.direction !== 'upload') return;
        const n = frame.payload.byteLength;
        this.outstandingToAgent += n;
        if (this.outstandingToAgent > CHANNEL_WINDOW_BYTES) {
          this.end({ reason: 'technician exceeded the window', exitCode: null, code: 'OUTPOST_E_RATE_LIMITED' });
          return;
        }
        this.bytes += n;
        this.lastActivity = this.clock.now();
        this.agent.sendFrame(rechannel(data, this.channel));
        return;
      }
      case FrameKind.Credit: {
        const n = readCredit(frame.payload);
        if (n === undefined || this.direction !== 'download') return;
        const granted = Math.min(n, this.outstandingToTech);
        this.outstandingToTech -= granted;
        if (granted > 0) this.agent.sendFrame(encodeCredit(this.channel, granted));
        return;
      }
      case FrameKind.End:
        if (this.direction === 'upload') this.agent.sendFrame(rechannel(data, this.channel));
        return;
    }
  }

  /** Ends the transfer once: tells the agent to abort (unless it finished or refused), the technician, the owner. */
  end(info: TransferEnd, tellAgent = true): void {
    if (this.ended) return;
    this.ended = info;
    if (tellAgent && this.channel > 0)
      this.agent.send({ type: 'shell.close', channel: this.channel, reason: info.reason.slice(0, 200) });
    if (info.code) this.#send({ type: 'session.error', code: info.code, message: info.reason });
    if (this.tech.readyState === this.tech.OPEN || this.tech.readyState === this.tech.CONNECTING) {
      const ok = !info.code;
      this.tech.close(ok ? 1000 : 4483, ok ? 'done' : closeReason(`${info.code} ${info.reason}`));
    }
    this.onEnd(this, info);
  }
}

/** The coded error a technician sees for the agent's refusal code. */
export function agentCode(
  code: string,
):
  | 'OUTPOST_E_PATH_REFUSED'
  | 'OUTPOST_E_NOT_FOUND'
  | 'OUTPOST_E_PAYLOAD_TOO_LARGE'
  | 'OUTPOST_E_CONFLICT'
  | 'OUTPOST_E_TICKET_INVALID'
  | 'OUTPOST_E_AGENT_OFFLINE'
  | 'OUTPOST_E_FILE_IO'
  | 'OUTPOST_E_FILES_UNAVAILABLE'
  | 'OUTPOST_E_SESSION_REFUSED' {
  switch (code) {
    case 'OUTPOST_E_PATH_REFUSED':
    case 'OUTPOST_E_NOT_FOUND':
    case 'OUTPOST_E_PAYLOAD_TOO_LARGE':
    case 'OUTPOST_E_CONFLICT':
    case 'OUTPOST_E_TICKET_INVALID':
    case 'OUTPOST_E_AGENT_OFFLINE':
    case 'OUTPOST_E_FILE_IO':
    case 'OUTPOST_E_FILES_UNAVAILABLE':
      return code;
    default:
      return 'OUTPOST_E_SESSION_REFUSED';
  }
}
