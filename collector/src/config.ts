/**
 * The collector's one configuration object: read from a JSON or YAML file and flags, checked and defaulted here
 * and nowhere else. Clock and logger are injected so tests control time and capture logs.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';

const listenFields = {
  host: Type.String({ default: '127.0.0.1', minLength: 1 }),
  port: Type.Integer({ default: 8443, minimum: 0, maximum: 65535 }),
};
const Listen = Type.Object(listenFields, { additionalProperties: false, default: {} });
// No object-level default: absent means "share the API listener".
const AgentsListen = Type.Object(listenFields, { additionalProperties: false });

/** The file and flag schema; every field has a default except where noted. */
export const CollectorConfigSchema = Type.Object(
  {
    /** Directory for the database, the generated TLS certificate and other state. */
    dataDir: Type.String({ default: './outpost-data', minLength: 1 }),
    /**
     * Where state lives: absent, the embedded SQLite file in `dataDir` (the default); `url: postgres://…` names a
     * PostgreSQL database shared by several collector nodes (docs/0016-postgres.md; a concern without a PostgreSQL
     * store would refuse the start); `pool`: the most connections this node opens to it (default 10).
     */
    storage: Type.Object(
      {
        url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', minLength: 12 })),
        pool: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * Several collector nodes (docs/0017-nodes.md): absent, one node and the in-process bus (nothing leaves the
     * process); present, the node bus over NATS carries commands, shells, presence and invalidations between nodes.
     */
    cluster: Type.Optional(
      Type.Object(
        {
          /** The NATS server (`nats://host:port`); one is enough, the client learns the others of its cluster. */
          natsUrl: Type.String({ pattern: '^nats://[^\\s/]+$', maxLength: 512 }),
          /** This node's id, unique in the deployment; absent: `<hostname>-<pid>` reduced to the allowed characters. */
          nodeId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
          /** Namespaces every subject: deployments sharing one NATS never see each other. */
          deployment: Type.String({ default: 'default', pattern: '^[A-Za-z0-9_-]{1,64}$' }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Technicians' API and console. */
    api: Listen,
    /** Agent WebSocket endpoint; when absent or equal to `api`, both share one listener. */
    agents: Type.Optional(AgentsListen),
    tls: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        certFile: Type.Optional(Type.String({ minLength: 1 })),
        keyFile: Type.Optional(Type.String({ minLength: 1 })),
        /** Extra DNS names or IP addresses for the generated certificate. */
        hostnames: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: Type.Object(
      {
        agentMaxPayloadBytes: Type.Integer({ default: 1024 * 1024, minimum: 1024 }),
        agentMessagesPerSecond: Type.Number({ default: 200, exclusiveMinimum: 0 }),
        agentMessageBurst: Type.Integer({ default: 2000, minimum: 1 }),
        /** Binary (channel) frames per second per agent connection, a 32 KiB frame each at full speed: 1.6 GB/s. */
        agentFramesPerSecond: Type.Integer({ default: 50_000, minimum: 1 }),
        helloTimeoutMs: Type.Integer({ default: 10_000, minimum: 100 }),
        maxAgents: Type.Integer({ default: 50_000, minimum: 1 }),
        apiBodyLimitBytes: Type.Integer({ default: 1024 * 1024, minimum: 1024 }),
      },
      { additionalProperties: false, default: {} },
    ),
    presence: Type.Object(
      {
        heartbeatIntervalMs: Type.Integer({ default: 30_000, minimum: 1000 }),
        pingIntervalMs: Type.Integer({ default: 30_000, minimum: 100 }),
        lastSeenFlushMs: Type.Integer({ default: 5_000, minimum: 10 }),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        sessionTtlHours: Type.Number({ default: 12, exclusiveMinimum: 0 }),
        initialAdminEmail: Type.String({
          default: 'admin@outpost.local',
          pattern: '^[^@\\s]+@[^@\\s]+$',
          minLength: 3,
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Remote shell sessions (docs/0007-shell.md). */
    sessions: Type.Object(
      {
        /** Exact Origin values allowed on the technician WebSocket (the console's origin); CLIs send none. */
        allowedOrigins: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        idleTimeoutMs: Type.Integer({ default: 30 * 60_000, minimum: 1000 }),
        maxDurationMs: Type.Integer({ default: 8 * 3_600_000, minimum: 1000 }),
        /** When the recording cannot be written: refuse (end) the session, or allow it and flag the row. */
        recordingFailure: Type.Union([Type.Literal('refuse'), Type.Literal('allow')], { default: 'refuse' }),
        openTimeoutMs: Type.Integer({ default: 10_000, minimum: 100 }),
        ticketTtlMs: Type.Integer({ default: 60_000, minimum: 1000, maximum: 120_000 }),
        /** Largest file `outpost cp` relays either way (the agent has its own `fileMaxBytes`). */
        fileMaxBytes: Type.Integer({ default: 4 * 1024 ** 3, minimum: 1 }),
        /** Technician sockets are pinged this often; one silent for more than two rounds is dropped, its session ended. */
        keepAliveMs: Type.Integer({ default: 15_000, minimum: 100 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Incidents and SLA clocks (docs/0004-incidents.md). */
    incidents: Type.Object(
      {
        /** A cleared condition must stay clear this long before its incident auto-resolves. */
        autoResolveHoldMs: Type.Integer({ default: 300_000, minimum: 0 }),
        /** A fault back within this window reopens its incident; resolved incidents close after it. */
        reopenWindowMs: Type.Integer({ default: 86_400_000, minimum: 0 }),
        /** How often the SLA engine re-evaluates due times. */
        tickMs: Type.Integer({ default: 15_000, minimum: 10 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** The notification outbox and its delivery worker (docs/0005-notifications.md). */
    notifications: Type.Object(
      {
        /** How often the outbox looks for messages due. */
        pollMs: Type.Integer({ default: 1_000, minimum: 10 }),
        /** First retry delay; doubles per failure up to `retryMaxMs`, with ±20 % jitter. */
        retryBaseMs: Type.Integer({ default: 5_000, minimum: 10 }),
        retryMaxMs: Type.Integer({ default: 600_000, minimum: 10 }),
        /** Consecutive failures after which a channel opens its own incident. */
        failureIncidentAfter: Type.Integer({ default: 5, minimum: 1 }),
        /** Per-delivery timeout; a message's claim lasts 2 × this + 1 s, after which another worker may retry it. */
        timeoutMs: Type.Integer({ default: 10_000, minimum: 100 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * Users' chat channels (docs/0014-requests.md). Secrets live here only; they are never logged nor shown by the API.
     */
    requests: Type.Object(
      {
        slack: Type.Optional(
          Type.Object(
            {
              /** The Slack app's signing secret (Basic Information → App Credentials). */
              signingSecret: Type.String({ minLength: 16, maxLength: 256 }),
              /** Slack workspace id (`team_id`) → the client its users belong to. */
              workspaces: Type.Record(Type.String({ pattern: '^T[A-Z0-9]{2,30}$' }), Type.String({ minLength: 1 })),
              /** Where replies may be posted: Slack's own hooks unless a test points it at a local server. */
              responseUrlPrefixes: Type.Array(Type.String({ pattern: '^https?://[^/]+/' }), {
                default: ['https://hooks.slack.com/'],
              }),
            },
            { additionalProperties: false },
          ),
        ),
        /** The built-in SMTP receiver for the helpdesk address; absent: no e-mail channel. */
        email: Type.Optional(
          Type.Object(
            {
              host: Type.String({ default: '127.0.0.1', minLength: 1 }),
              port: Type.Integer({ default: 2525, minimum: 0, maximum: 65535 }),
              /** Largest message accepted (25 MiB by default); a bigger one is refused during DATA (552). */
              maxMessageBytes: Type.Integer({ default: 26_214_400, minimum: 1024 }),
              /** Sender domain → client. */
              domains: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 })),
              /** The domain of the collector's own Message-IDs (its own mail coming back is a loop). */
              messageIdDomain: Type.String({ default: 'outpost.invalid', minLength: 1 }),
              /** Where acknowledgements and resolutions are sent from; absent: the requester gets no mail back. */
              relay: Type.Optional(
                Type.Object(
                  {
                    host: Type.String({ minLength: 1 }),
                    port: Type.Integer({ default: 25, minimum: 1, maximum: 65535 }),
                    secure: Type.Boolean({ default: false }),
                    from: Type.String({ minLength: 3 }),
                  },
                  { additionalProperties: false },
                ),
              ),
              attachments: Type.Object(
                {
                  maxCount: Type.Integer({ default: 10, minimum: 0, maximum: 100 }),
                  maxBytes: Type.Integer({ default: 10_485_760, minimum: 0 }),
                },
                { additionalProperties: false, default: {} },
              ),
            },
            { additionalProperties: false },
          ),
        ),
        /**
         * The users' self-service page under `/help/` (sign-in links go out through `requests.email.relay`, which
         * it needs); absent: no page.
         */
        selfService: Type.Optional(
          Type.Object(
            {
              /** Where users reach the API listener (`https://help.example.com`): the mailed link starts with it. */
              url: Type.String({ pattern: '^https?://[^/?#]+/?$' }),
              linkTtlMs: Type.Integer({ default: 900_000, minimum: 60_000, maximum: 86_400_000 }),
              sessionTtlMs: Type.Integer({ default: 28_800_000, minimum: 60_000 }),
              /** Sign-in links asked for within 15 minutes, per e-mail address and per network address. */
              linksPerAddress: Type.Integer({ default: 3, minimum: 1 }),
              linksPerIp: Type.Integer({ default: 20, minimum: 1 }),
            },
            { additionalProperties: false },
          ),
        ),
        teams: Type.Optional(
          Type.Object(
            {
              /** One entry per Teams outgoing webhook: its security token (base64, as Teams shows it) and client. */
              webhooks: Type.Array(
                Type.Object(
                  {
                    secret: Type.String({ pattern: '^[A-Za-z0-9+/]{20,}={0,2}$', maxLength: 256 }),
                    clientId: Type.String({ minLength: 1 }),
                  },
                  { additionalProperties: false },
                ),
                { minItems: 1, maxItems: 100 },
              ),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Detection (docs/0003-detection.md). */
    detection: Type.Object(
      {
        /** Policies (JSON or YAML: one policy, a list, or `{ policies: [...] }`); absent: the shipped defaults. */
        policyFile: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Agent executables and packages served at /install/ (docs/0009-packaging.md, "The collector"). */
    installers: Type.Object(
      {
        /** Directory holding manifest.json and the files it lists; absent: beside the executable or dist/packages. */
        dir: Type.Optional(Type.String({ minLength: 1 })),
        /** Downloads per minute per source address (files and manifest). */
        downloadsPerMinute: Type.Integer({ default: 120, minimum: 1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

/** The checked configuration as read from a file and flags. */
export type CollectorSettings = Static<typeof CollectorConfigSchema>;

/** A source of the current time, injected so tests fake it. */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** What `buildApp` takes: the settings plus injected dependencies. */
export interface CollectorConfig extends CollectorSettings {
  clock: Clock;
  logger: Logger;
  /** PEM certificate and key when TLS is on (see `ensureCertificate`). */
  tlsMaterial?: { cert: string; key: string; fingerprint: string } | undefined;
}

const check = TypeCompiler.Compile(CollectorConfigSchema);

/** Applies defaults and validates; throws OUTPOST_E_CONFIG_INVALID naming the source and the field. */
export function checkSettings(input: unknown, source = 'configuration'): CollectorSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `${source}: expected an object`,
      details: { source },
    });
  }
  const value = Value.Default(CollectorConfigSchema, structuredClone(input));
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    // A union of literals (log.level…) is better named by its choices than by "Expected union value".
    const allowed = (first?.schema.anyOf as { const?: unknown }[] | undefined)?.map((s) => s.const);
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `${source}: ${first?.path || '/'} ${allowed?.every((a) => a !== undefined) ? `must be one of ${allowed.join(', ')}` : (first?.message ?? 'is invalid')}`,
      details: { source, path: first?.path ?? '' },
    });
  }
  // The self-service page signs users in by mail: without the relay nobody could ever sign in.
  if (value.requests.selfService && !value.requests.email?.relay)
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `${source}: /requests/selfService needs /requests/email/relay (sign-in links are mailed through it)`,
      details: { source, path: '/requests/email/relay' },
    });
  return value;
}

/** Reads a JSON or YAML configuration file. */
export function readSettingsFile(file: string): Record<string, unknown> {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `Cannot read configuration file ${path}`,
      details: { file: path },
    });
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `Configuration file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(cause as Error).message}`,
      details: { file: path },
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `Configuration file ${path} must hold an object`,
      details: { file: path },
    });
  }
  return parsed as Record<string, unknown>;
}

/** Merges flag overrides (dotted paths such as `api.port`) over file settings. */
export function mergeSettings(
  base: Record<string, unknown>,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  const out = structuredClone(base);
  for (const [path, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const keys = path.split('.');
    let node: Record<string, unknown> = out;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = value;
  }
  return out;
}

/** True when the agent endpoint needs its own listener (port 0 asks for one more ephemeral port). */
export function agentsListenSeparately(settings: CollectorSettings): boolean {
  const a = settings.agents;
  return a !== undefined && (a.port === 0 || a.host !== settings.api.host || a.port !== settings.api.port);
}
