/**
 * The collector's policy file (`detection.policyFile`, docs/0003-detection.md): one policy, a list of them, or
 * `{ policies: [...] }`, in JSON or YAML. Loaded at start (a bad file stops the collector with the reason) and on
 * reload (a bad file keeps the policies in force and says why).
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { type Policy, PolicySet, parsePolicy } from './policy.js';

const MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024;

/** Parses a policy file's text: every policy validated, scopes unique; errors name the file and the entry. */
export function parsePolicyFile(text: string, source: string): Policy[] {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_POLICY_INVALID', {
      cause,
      message: `${source}: not valid JSON or YAML: ${(cause as Error).message}`,
      details: { source },
    });
  }
  const list: unknown[] = Array.isArray(raw)
    ? raw
    : raw && typeof raw === 'object' && 'policies' in raw && Object.keys(raw).length === 1
      ? ((raw as { policies: unknown }).policies as unknown[])
      : [raw ?? {}];
  if (!Array.isArray(list)) {
    throw new OutpostError('OUTPOST_E_POLICY_INVALID', {
      message: `${source}: "policies" must be a list`,
      details: { source },
    });
  }
  const seen = new Set<string>();
  return list.map((entry, i) => {
    const where = list.length > 1 || Array.isArray(raw) ? `${source} [policy ${i}]` : source;
    const policy = parsePolicy(JSON.stringify(entry ?? {}), where);
    const scope = policy.siteId ? `site ${policy.siteId}` : policy.clientId ? `client ${policy.clientId}` : 'default';
    if (seen.has(scope))
      throw new OutpostError('OUTPOST_E_POLICY_INVALID', {
        message: `${where}: a second policy for the ${scope} scope`,
        details: { source, problems: [`duplicate scope ${scope}`] },
      });
    seen.add(scope);
    return policy;
  });
}

/** Reads and parses a policy file. */
export function readPolicyFile(file: string): Policy[] {
  const path = resolve(file);
  let text: string;
  try {
    if (statSync(path).size > MAX_POLICY_FILE_BYTES) throw new Error(`larger than ${MAX_POLICY_FILE_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_POLICY_INVALID', {
      cause,
      message: `${path}: cannot read the policy file: ${(cause as Error).message}`,
      details: { source: path },
    });
  }
  return parsePolicyFile(text, path);
}

/** What `show` returns: the file, when it was loaded, the policies in force and the last failed reload. */
export interface ActivePolicies {
  file: string | null;
  loadedAt: number;
  policies: Policy[];
  lastError: { at: number; code: string; message: string } | null;
}

/**
 * The policies in force: a `PolicySet` the engine reads, replaced in place on a successful reload of the file or a
 * change of the stored policies (`PolicyAdmin`). For one scope, a stored policy wins over the file's.
 */
export class DetectionPolicies {
  readonly set: PolicySet;
  #policies: Policy[];
  #stored: Policy[] = [];
  #loadedAt: number;
  #lastError: ActivePolicies['lastError'] = null;
  readonly #listeners = new Set<() => void>();

  /** Loads `file` (throws OUTPOST_E_POLICY_INVALID: the collector must not start on a bad policy). */
  constructor(
    readonly file: string | undefined,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {
    this.#policies = file ? readPolicyFile(file) : [];
    this.set = new PolicySet(this.#policies);
    this.#loadedAt = now();
    if (file) logger.info({ file, policies: this.#policies.length }, 'detection policies loaded');
  }

  /** Re-reads the file. On error the policies in force stay, the error is kept for `show` and rethrown. */
  reload(): ActivePolicies {
    if (!this.file) {
      throw new OutpostError('OUTPOST_E_POLICY_INVALID', {
        message: 'No policy file is configured (detection.policyFile); the shipped defaults are in force',
      });
    }
    try {
      this.#policies = readPolicyFile(this.file);
    } catch (err) {
      const e = err instanceof OutpostError ? err : new OutpostError('OUTPOST_E_POLICY_INVALID', { cause: err });
      this.#lastError = { at: this.now(), code: e.code, message: e.message };
      this.logger.error({ err: e, file: this.file }, 'policy reload refused; the previous policies stay in force');
      throw e;
    }
    this.#loadedAt = this.now();
    this.#lastError = null;
    this.logger.info({ file: this.file, policies: this.#policies.length }, 'detection policies reloaded');
    this.#apply();
    return this.show();
  }

  /** Puts the stored policies in force beside the file's (they win per scope), and tells the listeners. */
  setStored(policies: readonly Policy[]): void {
    this.#stored = [...policies];
    this.#apply();
  }

  /** The file's policies as last loaded (read-only). */
  filePolicies(): Policy[] {
    return [...this.#policies];
  }

  #apply(): void {
    // PolicySet keeps the last policy per scope: stored after file, so the stored one wins.
    this.set.replaceAll([...this.#policies, ...this.#stored]);
    for (const fn of this.#listeners) fn();
  }

  /** Calls `fn` after each change of the policies in force (a reload, a stored policy added, changed or removed). */
  onReload(fn: () => void): void {
    this.#listeners.add(fn);
  }

  /** The policies in force, with defaults filled in. */
  show(): ActivePolicies {
    return {
      file: this.file ? resolve(this.file) : null,
      loadedAt: this.#loadedAt,
      policies: this.set.list(),
      lastError: this.#lastError,
    };
  }
}
