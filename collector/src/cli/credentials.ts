/** Where `outpost login` keeps the server, its pinned fingerprint and the API token (file mode 0600). */

import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import type { Command } from 'commander';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { ApiTarget } from './client.js';

/** The credentials file path (OUTPOST_CLI_CONFIG overrides it, for tests and several collectors). */
export function credentialsFile(): string {
  return process.env.OUTPOST_CLI_CONFIG ?? join(homedir(), '.config', 'outpost', 'cli.json');
}

/** Reads the saved target; a clear error when the user never logged in. */
export function loadTarget(overrides: {
  server?: string | undefined;
  token?: string | undefined;
  caFingerprint?: string | undefined;
}): ApiTarget {
  let saved: Partial<ApiTarget> = {};
  const file = credentialsFile();
  let parsed: unknown = {};
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
        cause,
        message: `Cannot read ${file}: ${(cause as Error).message}; log in again to rewrite it`,
        details: { file },
      });
    }
  }
  // Hand-edited or truncated: each field must be a string, or the login is refused here naming it.
  const bad =
    typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)
      ? '/'
      : (['server', 'token', 'caFingerprint'] as const).find((k) => {
          const v = (parsed as Record<string, unknown>)[k];
          return v !== undefined && typeof v !== 'string';
        });
  if (bad)
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `${file}: ${bad === '/' ? 'expected an object' : `/${bad} must be a string`}; log in again to rewrite it`,
      details: { file, path: bad },
    });
  saved = parsed as Partial<ApiTarget>;
  // An exported-but-empty variable (`OUTPOST_SERVER=`) means unset, not "no server": the saved login still applies.
  const server = overrides.server || process.env.OUTPOST_SERVER || saved.server;
  const token = overrides.token || process.env.OUTPOST_TOKEN || saved.token;
  if (!server || !token)
    throw new OutpostError('OUTPOST_E_UNAUTHENTICATED', {
      message: 'Not logged in: run `outpost login --server URL --email E`',
    });
  return {
    server,
    token,
    caFingerprint: overrides.caFingerprint || process.env.OUTPOST_CA_FINGERPRINT || saved.caFingerprint,
  };
}

/** Saves the target after a login. */
export function saveTarget(target: ApiTarget): string {
  const file = credentialsFile();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${JSON.stringify(target, null, 2)}\n`, 0o600);
  return file;
}

/** The API target of a command: its global flags (--server, --token, --ca-fingerprint) over the stored credentials. */
export function commandTarget(cmd: Command): ApiTarget {
  const o = cmd.optsWithGlobals<{ server?: string; token?: string; caFingerprint?: string }>();
  return loadTarget({ server: o.server, token: o.token, caFingerprint: o.caFingerprint });
}
