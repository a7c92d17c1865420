/**
 * The handshake family: the collector's challenge, the agent's hello (enroll or key proof) and the welcome.
 * Flow (docs/0001-protocol.md): socket opens → collector.challenge → agent.hello → collector.welcome.
 */
import { type Static, Type } from '@sinclair/typebox';
import { AgentId, Base64Url, Count, EpochMs, message, Str, strict } from './common.js';

/** Sent by the collector as soon as the socket opens: a fresh nonce the agent must sign. */
export const CollectorChallenge = message('collector.challenge', {
  nonce: Base64Url(64),
  protocolVersion: Type.Integer({ minimum: 1, maximum: 1000 }),
  minProtocolVersion: Type.Integer({ minimum: 1, maximum: 1000 }),
  serverTime: EpochMs,
});
export type CollectorChallenge = Static<typeof CollectorChallenge>;

/** The machine facts the hello carries (the OS as the os_version probe reads it, the rest from node:os). */
export const AgentFacts = Type.Object(
  {
    hostname: Str(255, 1),
    os: Type.Object(
      {
        platform: Str(32),
        distro: Str(128),
        release: Str(64),
        kernel: Str(128),
        arch: Str(32),
      },
      strict,
    ),
    cpu: Type.Object({ model: Str(256), cores: Type.Integer({ minimum: 0, maximum: 65536 }) }, strict),
    memoryBytes: Count,
  },
  strict,
);
export type AgentFacts = Static<typeof AgentFacts>;

/**
 * The shape of an enrollment token (`outpost tokens create`): the agent checks it before it dials, so a token cut
 * short or pasted with extra text is named as such. The hello's schema stays looser on purpose: a malformed token is
 * the collector's "invalid token", never a protocol error.
 */
export const ENROLLMENT_TOKEN_PATTERN = /^oet_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/;

/** First enrollment: the token and the agent's freshly generated Ed25519 public key, with proof of possession. */
export const EnrollAuth = Type.Object(
  {
    method: Type.Literal('enroll'),
    token: Str(200, 1),
    /** Ed25519 public key, raw 32 bytes, base64url. */
    publicKey: Base64Url(43),
    /** Signature of the challenge (see `authProofPayload`), base64url. */
    signature: Base64Url(86),
  },
  strict,
);

/** Every later connection: the agent id and a signature of the challenge with the enrolled key. */
export const KeyAuth = Type.Object({ method: Type.Literal('key'), agentId: AgentId, signature: Base64Url(86) }, strict);

/** The agent's first frame on every connection. */
export const AgentHello = message('agent.hello', {
  protocolVersion: Type.Integer({ minimum: 1, maximum: 1000 }),
  agentVersion: Str(64, 1),
  auth: Type.Union([EnrollAuth, KeyAuth]),
  facts: AgentFacts,
});
export type AgentHello = Static<typeof AgentHello>;

/** The collector accepted the hello: who the agent is and where its stream stands. */
export const CollectorWelcome = message('collector.welcome', {
  agentId: AgentId,
  protocolVersion: Type.Integer({ minimum: 1, maximum: 1000 }),
  /** Highest sequence number the collector has committed for this agent (0: none yet). */
  lastSeq: Count,
  heartbeatIntervalMs: Type.Integer({ minimum: 1000, maximum: 2 ** 31 - 1 }),
  /** The connection's message rate limit, so an agent draining a backlog paces itself instead of being cut off. */
  messagesPerSecond: Type.Number({ exclusiveMinimum: 0 }),
  messageBurst: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  serverTime: EpochMs,
  /** True on the connection that enrolled the agent. */
  enrolled: Type.Boolean(),
  clientId: Str(64),
  siteId: Str(64),
  /**
   * The collector's public key for session tickets (raw Ed25519, base64url). The agent keeps the one it received
   * at enrollment (or, for an agent enrolled before tickets existed, the first one it sees) and never replaces it.
   */
  sessionKey: Type.Optional(Base64Url(43)),
});
export type CollectorWelcome = Static<typeof CollectorWelcome>;
