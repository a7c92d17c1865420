/**
 * One live shell session on the collector: relays frames between the agent channel and the technician socket,
 * enforcing the credit windows in both directions (so the collector never holds more than a window per session),
 * feeds the recording, fans output out to read-only joiners, and ends everything on exit, close or loss.
 */
import {
  CHANNEL_WINDOW_BYTES,
  type ChannelFrame,
  encodeCredit,
  encodeFrame,
  FrameKind,
  readCredit,
  rechannel,
} from '@outpost/shared';
import type { WebSocket } from 'ws';
import type { AgentLink } from '../agents/index.js';
import type { CastRecorder } from './recorder.js';
import { closeReason, INPUT_WINDOW_BYTES, type ServerMessage, TECH_CHANNEL } from './wire.js';

/** A joiner this far behind is dropped rather than buffered. */
const JOINER_MAX_BUFFERED = 1024 * 1024;
/**
 * Sizes reach the agent (a PTY resize and a SIGWINCH to the shell) and the recording at most this often; the
 * latest size wins. Dragging a window edge sends dozens a second, and a technician's socket could send thousands.
 */
export const RESIZE_INTERVAL_MS = 50;

/**
 * What the recording holds instead of input typed while the terminal did not echo (a password prompt): one marker
 * per run of such input, so neither the secret nor its length or rhythm is kept.
 */
export const NO_ECHO_MARKER = '[input not recorded: typed while the terminal did not echo]';
const NO_ECHO_BYTES = Buffer.from(NO_ECHO_MARKER);

/** Input forwarded to the agent, waiting for its credit before it is recorded (offsets in the input stream). */
interface PendingInput {
  from: number;
  to: number;
  now: number;
  data: Uint8Array;
}

/** Why a session ended, and how. */
export interface EndInfo {
  reason: string;
  exitCode: number | null;
  code?: string | undefined;
}

/** What LiveShell is built from (one options object, not positional arguments). */
export interface LiveShellInit {
  id: string;
  agent: AgentLink;
  channel: number;
  writer: WebSocket;
  recorder: CastRecorder | undefined;
  startedAt: number;
  clock: { now(): number };
  size: { cols: number; rows: number };
  onEnd: (s: LiveShell, info: EndInfo) => void;
}

/** The relay for one session. */
export class LiveShell {
  readonly joiners = new Set<WebSocket>();
  /** Output bytes sent to the technician and not yet credited back. */
  outstandingToTech = 0;
  /** Input bytes sent to the agent and not yet credited back. */
  outstandingToAgent = 0;
  bytesOut = 0;
  bytesIn = 0;
  lastActivity: number;
  ended: EndInfo | undefined;
  cols: number;
  rows: number;
  /** When the last size went to the agent (performance.now()), and the pending send of a newer one. */
  #sizeSentAt = Number.NEGATIVE_INFINITY;
  #sizeTimer: NodeJS.Timeout | undefined;
  /**
   * Input is recorded once the agent credits it, not as it passes: the agent reports input typed without echo
   * (`shell.noecho`) before the credit that covers it, so the recording never holds a secret first.
   */
  readonly #pendingInput: PendingInput[] = [];
  /** Input ranges the agent reported as typed without echo, not yet recorded. */
  readonly #noEcho: { from: number; to: number }[] = [];
  /** Input bytes the agent has credited (settled) so far. */
  #creditedIn = 0;
  /** The last input recorded was the no-echo marker (a run of hidden input gets one marker). */
  #hidden = false;

  readonly id: string;
  readonly agent: AgentLink;
  readonly channel: number;
  readonly writer: WebSocket;
  readonly recorder: CastRecorder | undefined;
  readonly startedAt: number;
  private readonly clock: { now(): number };
  private readonly onEnd: (s: LiveShell, info: EndInfo) => void;
  constructor(init: LiveShellInit) {
    const { id, agent, channel, writer, recorder, startedAt, clock, size, onEnd } = init;
    this.id = id;
    this.agent = agent;
    this.channel = channel;
    this.writer = writer;
    this.recorder = recorder;
    this.startedAt = startedAt;
    this.clock = clock;
    this.onEnd = onEnd;
    this.lastActivity = startedAt;
    this.cols = size.cols;
    this.rows = size.rows;
  }

  /** Sends a control message to the writer and every joiner. */
  broadcast(msg: ServerMessage): void {
    const text = JSON.stringify(msg);
    for (const ws of [this.writer, ...this.joiners]) if (ws.readyState === ws.OPEN) ws.send(text);
  }

  /** A frame from the agent on this session's channel (`data` is the received buffer, forwarded in place). */
  fromAgent(frame: ChannelFrame, data: Buffer): void {
    if (this.ended) return;
    const now = this.clock.now();
    switch (frame.kind) {
      case FrameKind.Data: {
        const n = frame.payload.byteLength;
        this.outstandingToTech += n;
        if (this.outstandingToTech > CHANNEL_WINDOW_BYTES) {
          this.end({ reason: 'agent exceeded its credit', exitCode: null, code: 'OUTPOST_E_UNEXPECTED_MESSAGE' });
          return;
        }
        this.bytesOut += n;
        this.lastActivity = now;
        this.recorder?.output(now, frame.payload);
        const out = rechannel(data, TECH_CHANNEL);
        if (this.writer.readyState === this.writer.OPEN) this.writer.send(out);
        for (const j of this.joiners) {
          if (j.bufferedAmount > JOINER_MAX_BUFFERED) {
            this.joiners.delete(j);
            j.close(4483, 'OUTPOST_E_SESSION_ENDED slow joiner');
          } else if (j.readyState === j.OPEN) j.send(out);
        }
        return;
      }
      case FrameKind.Credit: {
        const n = readCredit(frame.payload);
        if (n === undefined) return;
        this.outstandingToAgent = Math.max(0, this.outstandingToAgent - n);
        this.#creditedIn += n;
        this.#recordInput(this.#creditedIn);
        if (this.writer.readyState === this.writer.OPEN) this.writer.send(rechannel(data, TECH_CHANNEL));
        return;
      }
      case FrameKind.End:
        if (this.writer.readyState === this.writer.OPEN) this.writer.send(encodeFrame(FrameKind.End, TECH_CHANNEL));
        return;
    }
  }

  /** A frame from the writing technician (`data` is the received buffer, forwarded in place). */
  fromTech(frame: ChannelFrame, data: Buffer): void {
    if (this.ended) return;
    const now = this.clock.now();
    switch (frame.kind) {
      case FrameKind.Data: {
        const n = frame.payload.byteLength;
        // Nothing to type: an empty frame would cost the agent a wake-up and no credit would ever pace it.
        if (n === 0) return;
        this.outstandingToAgent += n;
        if (this.outstandingToAgent > INPUT_WINDOW_BYTES) {
          this.end({ reason: 'technician exceeded the input window', exitCode: null, code: 'OUTPOST_E_RATE_LIMITED' });
          return;
        }
        // Input typed after a resize must see the new size: a size still waiting for its turn leaves first.
        if (this.#sizeTimer) {
          clearTimeout(this.#sizeTimer);
          this.#sizeTimer = undefined;
          this.#sendSize();
        }
        if (this.recorder)
          this.#pendingInput.push({ from: this.bytesIn, to: this.bytesIn + n, now, data: frame.payload });
        this.bytesIn += n;
        this.lastActivity = now;
        this.agent.sendFrame(rechannel(data, this.channel));
        return;
      }
      case FrameKind.Credit: {
        const n = readCredit(frame.payload);
        if (n === undefined) return;
        const granted = Math.min(n, this.outstandingToTech);
        this.outstandingToTech -= granted;
        if (granted > 0) this.agent.sendFrame(encodeCredit(this.channel, granted));
        return;
      }
      case FrameKind.End:
        this.end({ reason: 'technician closed the session', exitCode: null });
        return;
    }
  }

  /** The agent says input bytes `[from, to)` were typed while the terminal did not echo. */
  noEcho(from: number, to: number): void {
    // Only input already sent, in order: what an agent reports cannot grow past the input it was given.
    const last = this.#noEcho.at(-1)?.to ?? 0;
    if (this.ended || to <= from || to > this.bytesIn || from < last) return;
    this.#noEcho.push({ from, to });
  }

  /**
   * Records pending input up to `upTo` (credited): as typed, or as one marker per run of no-echo input. At the end,
   * `unknownHidden` records what the agent never settled as hidden too (it may have been a secret).
   */
  #recordInput(upTo: number, unknownHidden = false): void {
    const rec = this.recorder;
    if (!rec) return;
    while (this.#pendingInput.length > 0) {
      const ev = this.#pendingInput[0]!;
      const settled = ev.to <= upTo;
      if (!settled && !unknownHidden) return;
      this.#pendingInput.shift();
      const hidden = !settled || this.#noEcho.some((r) => r.from < ev.to && r.to > ev.from);
      while (this.#noEcho.length > 0 && this.#noEcho[0]!.to <= ev.to) this.#noEcho.shift();
      if (!hidden) rec.input(ev.now, ev.data);
      else if (!this.#hidden) rec.input(ev.now, NO_ECHO_BYTES);
      this.#hidden = hidden;
    }
  }

  /**
   * The terminal changed size: the new size leaves now, or within RESIZE_INTERVAL_MS of the last one sent, or
   * ahead of the next input, whichever comes first.
   */
  resize(cols: number, rows: number): void {
    if (this.ended) return;
    this.cols = cols;
    this.rows = rows;
    if (this.#sizeTimer) return;
    const wait = this.#sizeSentAt + RESIZE_INTERVAL_MS - performance.now();
    if (wait <= 0) this.#sendSize();
    else
      this.#sizeTimer = setTimeout(() => {
        this.#sizeTimer = undefined;
        this.#sendSize();
      }, wait);
  }

  #sendSize(): void {
    if (this.ended) return;
    this.#sizeSentAt = performance.now();
    this.recorder?.resize(this.clock.now(), this.cols, this.rows);
    this.agent.send({ type: 'shell.resize', channel: this.channel, cols: this.cols, rows: this.rows });
  }

  /** Ends the session once: tells the agent (kill the tree), the technicians, and the owner. */
  end(info: EndInfo): void {
    if (this.ended) return;
    this.ended = info;
    clearTimeout(this.#sizeTimer);
    this.#recordInput(this.#creditedIn, true);
    this.agent.send({ type: 'shell.close', channel: this.channel, reason: info.reason.slice(0, 200) });
    if (info.exitCode !== null) this.broadcast({ type: 'session.exit', exitCode: info.exitCode, signal: 0 });
    else if (info.code) this.broadcast({ type: 'session.error', code: info.code, message: info.reason });
    for (const ws of [this.writer, ...this.joiners]) {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
        ws.close(
          info.exitCode !== null ? 1000 : 4483,
          info.exitCode !== null ? 'exit' : closeReason(`OUTPOST_E_SESSION_ENDED ${info.reason}`),
        );
      }
    }
    this.onEnd(this, info);
  }
}
