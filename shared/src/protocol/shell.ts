/**
 * The shell family (docs/0007-shell.md): control messages for remote shell sessions and file transfers. The bytes
 * themselves travel as binary frames (`frames.ts`) on the channel the collector allocates in the open message;
 * flow control is credit based (Credit frames), so a slow technician pauses the PTY instead of growing buffers.
 *
 * collector → agent: shell.open, shell.resize, shell.close, file.open
 * agent → collector (unsequenced replies): shell.opened, shell.refused, shell.exit, shell.noecho, file.opened, file.done
 */
import { type Static, Type } from '@sinclair/typebox';
import { AgentId, Base64Url, Count, EpochMs, message, Str, strict } from './common.js';

/** Bytes the receiver of a channel's data grants at open; later grants come as Credit frames. */
export const CHANNEL_WINDOW_BYTES = 256 * 1024;
/** Largest payload of one Data frame. */
export const CHANNEL_MAX_FRAME_BYTES = 32 * 1024;
/** Longest lifetime a session ticket may have (the agent refuses longer ones). */
export const TICKET_MAX_TTL_MS = 120_000;

/** A session id as assigned by the collector. */
export const SessionId = Type.String({ pattern: '^ss_[0-9a-f]{24}$' });
/** A channel id on one agent socket (0 is never used). */
export const ChannelId = Type.Integer({ minimum: 1, maximum: 0xffffffff });
/** Terminal columns or rows. */
const Dim = Type.Integer({ minimum: 1, maximum: 1000 });
/** What a ticket allows. */
export const TicketCapability = Type.Union([
  Type.Literal('shell'),
  Type.Literal('shell.elevated'),
  Type.Literal('file.read'),
  Type.Literal('file.write'),
]);
export type TicketCapability = Static<typeof TicketCapability>;

/** The signed claims of a session ticket (single use; the agent remembers `tid` until `exp`). */
export const TicketClaims = Type.Object(
  {
    v: Type.Literal(1),
    /** Ticket id: unique per ticket, the replay key. */
    tid: Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$' }),
    agentId: AgentId,
    sessionId: SessionId,
    /** The user the session runs for (id and e-mail), for the agent's own log. */
    userId: Str(64, 1),
    user: Str(320, 1),
    caps: Type.Array(TicketCapability, { minItems: 1, maxItems: 4 }),
    iat: EpochMs,
    exp: EpochMs,
  },
  strict,
);
export type TicketClaims = Static<typeof TicketClaims>;

/** A ticket on the wire: base64url(JSON claims) "." base64url(Ed25519 signature). */
export const Ticket = Type.String({ pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$', maxLength: 2048 });

/** Opens a PTY on the agent. Idempotent by `id`; refused unless the ticket verifies. */
export const ShellOpen = message('shell.open', {
  id: Str(64, 1),
  expiresAt: EpochMs,
  sessionId: SessionId,
  channel: ChannelId,
  ticket: Ticket,
  cols: Dim,
  rows: Dim,
  /** Run as root/SYSTEM (the ticket must carry `shell.elevated`). */
  elevated: Type.Boolean(),
});
export type ShellOpen = Static<typeof ShellOpen>;

/** The technician's terminal changed size. */
export const ShellResize = message('shell.resize', { channel: ChannelId, cols: Dim, rows: Dim });
export type ShellResize = Static<typeof ShellResize>;

/** Ends a session or transfer: the agent kills the session's whole process tree (or aborts the transfer). */
export const ShellClose = message('shell.close', { channel: ChannelId, reason: Str(200) });
export type ShellClose = Static<typeof ShellClose>;

/** The PTY runs. */
export const ShellOpened = message('shell.opened', {
  channel: ChannelId,
  sessionId: SessionId,
  pid: Count,
  user: Str(64),
});
export type ShellOpened = Static<typeof ShellOpened>;

/** The agent refused a shell.open or file.open (bad ticket, path outside the roots, spawn failure…). */
export const ShellRefused = message('shell.refused', {
  channel: ChannelId,
  sessionId: SessionId,
  code: Str(64, 1),
  message: Str(500),
});
export type ShellRefused = Static<typeof ShellRefused>;

/** The session's shell ended (after its last output frame and the End frame). */
export const ShellExit = message('shell.exit', {
  channel: ChannelId,
  sessionId: SessionId,
  /** Signed or unsigned 32-bit, as the platform reports it (Windows exit codes are unsigned). */
  exitCode: Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 32 - 1 }),
  signal: Count,
});
export type ShellExit = Static<typeof ShellExit>;

/**
 * Input bytes `[from, to)` of the session (offsets in the technician's input stream, counted from 0) were typed
 * while the terminal did not echo in canonical mode (a password prompt: `sudo`, `read -s`, `passwd`). Sent before
 * the input Credit that covers them; the collector records such input as a marker, never as typed.
 */
export const ShellNoEcho = message('shell.noecho', {
  channel: ChannelId,
  sessionId: SessionId,
  from: Type.Integer({ minimum: 0 }),
  to: Type.Integer({ minimum: 1 }),
});
export type ShellNoEcho = Static<typeof ShellNoEcho>;

/** Opens a file transfer: download (agent sends Data) or upload (collector sends Data), from `offset` (resume). */
export const FileOpen = message('file.open', {
  id: Str(64, 1),
  expiresAt: EpochMs,
  sessionId: SessionId,
  channel: ChannelId,
  ticket: Ticket,
  direction: Type.Union([Type.Literal('download'), Type.Literal('upload')]),
  path: Str(4096, 1),
  offset: Count,
  /** Upload: the total size the file will have; download: the most the collector accepts. */
  size: Count,
  /**
   * Upload only: resume from what the agent already holds (at most `size` bytes) instead of `offset`; the agent
   * answers the offset it kept in `file.opened`. The SHA-256 at the end checks that the kept prefix matched.
   */
  resume: Type.Optional(Type.Boolean()),
});
export type FileOpen = Static<typeof FileOpen>;

/** The transfer is open: the file's current size (download: what will be sent; upload: what is there to resume). */
export const FileOpened = message('file.opened', {
  channel: ChannelId,
  sessionId: SessionId,
  size: Count,
});
export type FileOpened = Static<typeof FileOpened>;

/** The transfer finished: SHA-256 (hex) of the whole file as it stands on the agent. */
export const FileDone = message('file.done', {
  channel: ChannelId,
  sessionId: SessionId,
  size: Count,
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});
export type FileDone = Static<typeof FileDone>;

/** The collector's public key for session tickets, as sent in the welcome (raw Ed25519, base64url). */
export const SessionKey = Base64Url(43);
