/**
 * The agent's one configuration object: where the collector is, who this agent is, where its state lives.
 * Written by `enroll`, read by `run` and `status`; checked here and nowhere else.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AgentId, normalizeFingerprint, OutpostError } from '@outpost/shared';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/** The configuration file's schema. */
export const AgentConfigSchema = Type.Object(
  {
    /** Collector base URL (https://host:port). */
    server: Type.String({ pattern: '^(https|wss|http|ws)://', maxLength: 2048 }),
    /** SHA-256 fingerprint of the collector certificate to pin; absent: the system CAs verify it. */
    caFingerprint: Type.Optional(Type.String({ maxLength: 200 })),
    agentId: AgentId,
    clientId: Type.String({ maxLength: 64 }),
    siteId: Type.String({ maxLength: 64 }),
    /** Directory for the key, the outbox and the status file. */
    stateDir: Type.String({ minLength: 1 }),
    logLevel: Type.Optional(
      Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    ),
    /** Outbox bounds (oldest dropped first beyond them, with a gap record). */
    outboxMaxEntries: Type.Optional(Type.Integer({ minimum: 10 })),
    outboxMaxBytes: Type.Optional(Type.Integer({ minimum: 65536 })),
    /** The collector's session-ticket public key (raw Ed25519, base64url), received at enrollment. */
    sessionKey: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })),
    /** Remote shell settings (docs/0007-shell.md). */
    shell: Type.Optional(
      Type.Object(
        {
          /** Shell program; default: $SHELL, then /bin/bash, /bin/sh (cmd.exe on Windows). */
          command: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
          args: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 32 })),
          /** User non-elevated sessions run as (name or uid) when the agent runs as root; required then. */
          user: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          /** Allow elevated (root/SYSTEM) sessions at all; default true. */
          allowElevated: Type.Optional(Type.Boolean()),
          /** Working directory; default: the user's home, else /. */
          cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Inventory settings (docs/0002-inventory.md); env OUTPOST_INVENTORY / OUTPOST_INVENTORY_INTERVAL_MS win. */
    inventory: Type.Optional(
      Type.Object(
        {
          /** Run the inventory probes at all; default true. */
          enabled: Type.Optional(Type.Boolean()),
          /** Every probe's interval (±20 % jitter) instead of its own 1–6 h; at least one minute. */
          intervalMs: Type.Optional(Type.Integer({ minimum: 60_000, maximum: 7 * 24 * 3_600_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * The OS package manager as inventory and jobs see it (docs/0010-jobs.md): extra apt `-o` options and a root the
     * reboot-required flag is read under. Only tests and unusual layouts set them (a fixture apt root in a temp dir).
     */
    packages: Type.Optional(
      Type.Object(
        {
          aptOptions: Type.Optional(Type.Array(Type.String({ minLength: 3, maxLength: 1024 }), { maxItems: 32 })),
          /** Absolute directory the flags (`var/run/reboot-required`) are read under; default `/`. */
          rootDir: Type.Optional(Type.String({ pattern: '^/', maxLength: 4096 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Jobs (docs/0010-jobs.md). */
    jobs: Type.Optional(
      Type.Object(
        {
          /** Run only scripts signed by the organisation's offline key (`scriptPublicKey`); default false. */
          requireSignedScripts: Type.Optional(Type.Boolean()),
          /** The organisation's script-signing public key: raw Ed25519, base64url (43 characters). */
          scriptPublicKey: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Directories file transfers are confined to (absolute); none: file transfer is refused. */
    fileRoots: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 64 })),
    /** Largest upload the agent accepts, in bytes; default 4 GiB. */
    fileMaxBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    /**
     * The release root this agent trusts (docs/0011-releases.md): a path to root.json or the root's JSON itself.
     * Written by install; without it every update assignment is refused (OUTPOST_E_UPDATE_NOT_CONFIGURED).
     */
    updateRoot: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000_000 })),
    /** Self-update settings. */
    update: Type.Optional(
      Type.Object(
        {
          /** The install root holding versions/<v>/ and the `current` pointer; default: found from the executable's path. */
          installRoot: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
          /** How long a new version has to complete an authenticated hello before the watcher rolls back; default 120 s. */
          healthDeadlineMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
          /** Starts of the new version without a hello that count as a restart loop; default 3. */
          maxStarts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
/** The agent configuration. */
export type AgentConfig = Static<typeof AgentConfigSchema>;

const check = TypeCompiler.Compile(AgentConfigSchema);

export { defaultPaths } from './paths.js';

/** Reads and checks the configuration; OUTPOST_E_NOT_ENROLLED when missing, OUTPOST_E_CONFIG_INVALID when bad. */
export function readAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new OutpostError('OUTPOST_E_NOT_ENROLLED', {
        cause,
        message: `No agent configuration at ${file}`,
        details: { file },
      });
    }
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', { cause, message: `Cannot read ${file}`, details: { file } });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `${file} is not valid JSON: ${(cause as Error).message}`,
      details: { file },
    });
  }
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    const allowed = (first?.schema.anyOf as { const?: unknown }[] | undefined)?.map((s) => s.const);
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `${file}: ${first?.path || '/'} ${allowed?.every((a) => a !== undefined) ? `must be one of ${allowed.join(', ')}` : (first?.message ?? 'is invalid')}`,
      details: { file, path: first?.path ?? '' },
    });
  }
  // The schema checks the shape; these are checked by what reads them, so a hand edit fails here, naming the key,
  // rather than as a stack trace at the first connection.
  const invalid = (path: string, why: string) =>
    new OutpostError('OUTPOST_E_CONFIG_INVALID', { message: `${file}: ${path} ${why}`, details: { file, path } });
  let url: URL | undefined;
  try {
    url = new URL(value.server);
  } catch {
    // reported below
  }
  if (!url?.hostname)
    throw invalid('/server', `"${value.server.slice(0, 200)}" is not a URL such as https://host:8443`);
  if (value.jobs?.requireSignedScripts && !value.jobs.scriptPublicKey)
    throw invalid('/jobs/scriptPublicKey', 'is required when jobs.requireSignedScripts is true');
  if (value.caFingerprint !== undefined) {
    try {
      normalizeFingerprint(value.caFingerprint);
    } catch (cause) {
      throw invalid('/caFingerprint', (cause as Error).message);
    }
  }
  return value;
}

/** Writes the configuration atomically, readable by its owner only. */
export function writeAgentConfig(file: string, config: AgentConfig): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
