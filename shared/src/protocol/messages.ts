/**
 * The two message unions, one per direction, and the edge decoders that validate every inbound frame.
 * A new message type is added to its family file, then to the union here; handlers switch exhaustively on `type`.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { OutpostError } from '../errors.js';
import { ChecksPolicy } from './checks.js';
import { AgentHello, CollectorChallenge, CollectorWelcome } from './handshake.js';
import { InventoryReport, InventoryRequest } from './inventory.js';
import { JobCancel, JobRun, JobStatus } from './jobs.js';
import { ChecksResults, MetricsBatch } from './metrics.js';
import { AgentHeartbeat } from './presence.js';
import { RequestFile, RequestQuery, RequestState } from './requests.js';
import {
  FileDone,
  FileOpen,
  FileOpened,
  ShellClose,
  ShellExit,
  ShellNoEcho,
  ShellOpen,
  ShellOpened,
  ShellRefused,
  ShellResize,
} from './shell.js';
import { StreamAck, StreamEvent, StreamGap } from './stream.js';
import { UpdateAssign, UpdateStatus } from './update.js';

/**
 * Agent messages that travel through the durable outbox and carry a sequence number (the reliable stream).
 * A concern that reports data adds its message here; the collector routes each type to the sink its concern
 * registers with the stream ingest (collector/src/stream).
 */
const SequencedSchemas = [
  StreamEvent,
  StreamGap,
  InventoryReport,
  MetricsBatch,
  ChecksResults,
  JobStatus,
  UpdateStatus,
  RequestFile,
] as const;

/** Agent messages that are not sequenced: the handshake, presence, replies to commands. */
const UnsequencedAgentSchemas = [
  AgentHello,
  AgentHeartbeat,
  ShellOpened,
  ShellRefused,
  ShellExit,
  ShellNoEcho,
  FileOpened,
  FileDone,
  RequestQuery,
] as const;

/** Every message an agent may send. */
export const AgentMessage = Type.Union([...UnsequencedAgentSchemas, ...SequencedSchemas]);
export type AgentMessage = Static<typeof AgentMessage>;

/** Agent messages that travel through the durable outbox and carry a sequence number. */
export const SequencedMessage = Type.Union([...SequencedSchemas]);
export type SequencedMessage = Static<typeof SequencedMessage>;
/** The type names of sequenced messages. */
export type SequencedType = SequencedMessage['type'];
/** A sequenced message before the outbox numbers it (distributes over the union, so each member keeps its fields). */
export type SequencedBody = SequencedMessage extends infer M
  ? M extends { seq: number }
    ? Omit<M, 'seq'>
    : never
  : never;

/** Every message a collector may send. */
export const CollectorMessage = Type.Union([
  CollectorChallenge,
  CollectorWelcome,
  StreamAck,
  InventoryRequest,
  ShellOpen,
  ShellResize,
  ShellClose,
  FileOpen,
  ChecksPolicy,
  JobRun,
  JobCancel,
  UpdateAssign,
  RequestState,
]);
export type CollectorMessage = Static<typeof CollectorMessage>;

const sequencedTypes: ReadonlySet<string> = new Set(SequencedSchemas.map((s) => s.properties.type.const));

/** Every collector → agent message type this build knows. */
export const COLLECTOR_MESSAGE_TYPES: ReadonlySet<string> = new Set(
  CollectorMessage.anyOf.map((s) => s.properties.type.const),
);

/** True for the agent messages that belong to the reliable stream. */
export function isSequenced(msg: AgentMessage): msg is SequencedMessage {
  return sequencedTypes.has(msg.type);
}

/** Rejects keys that could pollute prototypes when a parsed object is later merged or spread. */
function refuseProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
    throw new SyntaxError(`forbidden key "${key}"`);
  }
  return value;
}

/** A `\uD800`–`\uDFFF` escape: the only way JSON text read from UTF-8 can carry half a surrogate pair. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const wellFormed = (s: string): string => s.replace(LONE_SURROGATE, '\uFFFD');

/**
 * `refuseProtoKeys`, and half surrogate pairs in strings and keys replaced by U+FFFD. SQLite stores text as UTF-8,
 * where every lone surrogate becomes U+FFFD: two names JavaScript holds apart (two metric names, two package names)
 * would be one key there and fail a UNIQUE constraint — a checkpoint or a whole stream batch with it. A real agent
 * can send one (a Windows file name need not be valid UTF-16), so it is mended, not refused.
 */
function refuseProtoKeysMendSurrogates(key: string, value: unknown): unknown {
  refuseProtoKeys(key, value);
  if (typeof value === 'string') return wellFormed(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.some((k) => wellFormed(k) !== k))
      return Object.fromEntries(keys.map((k) => [wellFormed(k), (value as Record<string, unknown>)[k]]));
  }
  return value;
}

/** Validates one schema and decodes text frames against it, with a coded error naming the first violation. */
export class MessageDecoder<S extends TSchema> {
  readonly #schema: S;
  #compiled: TypeCheck<S> | undefined;
  constructor(schema: S) {
    this.#schema = schema;
  }

  /**
   * Compiled at first use, not at import: every process loads both directions' decoders and uses one (the agent
   * never decodes what agents send; compiling that union is ~47 KB of generated code it held for nothing).
   */
  get #check(): TypeCheck<S> {
    this.#compiled ??= TypeCompiler.Compile(this.#schema);
    return this.#compiled;
  }

  /** Parses and validates one text frame; throws OUTPOST_E_BAD_MESSAGE with the reason. */
  decode(text: string): Static<S> {
    let value: unknown;
    try {
      value = JSON.parse(text, SURROGATE_ESCAPE.test(text) ? refuseProtoKeysMendSurrogates : refuseProtoKeys);
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_BAD_MESSAGE', {
        cause,
        message: `Message is not valid JSON: ${(cause as Error).message}`,
      });
    }
    return this.check(value);
  }

  /** Validates an already parsed value. */
  check(value: unknown): Static<S> {
    if (this.#check.Check(value)) return value;
    const first = this.#check.Errors(value).First();
    const raw = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
    const type = typeof raw === 'string' ? raw : '?';
    throw new OutpostError('OUTPOST_E_BAD_MESSAGE', {
      message: `Message ${type.slice(0, 64)} does not match its schema at ${first?.path || '/'}: ${first?.message ?? 'invalid'}`,
      details: { type: type.slice(0, 64), path: first?.path ?? '' },
    });
  }
}

/** Decoder for frames a collector receives from agents. */
export const agentMessages = new MessageDecoder(AgentMessage);
/** Decoder for frames an agent receives from its collector. */
export const collectorMessages = new MessageDecoder(CollectorMessage);

/** Serialises an outbound message (typed by its union, so only known messages can be sent). */
export function encodeMessage(msg: AgentMessage | CollectorMessage): string {
  return JSON.stringify(msg);
}
