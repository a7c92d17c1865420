/**
 * Policies managed through the API (docs/0003-detection.md, "Policies in the database"): one per scope, stored in
 * detection's table, validated like a file's, and applied to the running engine at once. The policy file stays an
 * optional, read-only source: for one scope, the database's policy wins over the file's. Pure logic over the store;
 * no fastify.
 */
import { randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { defaultPolicy, type Policy, type ThresholdRule, thresholdsOf, validatePolicy } from './policy.js';
import type { DetectionPolicies } from './policy-file.js';
import type { PolicyStore, StoredPolicy } from './policy-store.js';

/** Where a listed policy comes from. */
export type PolicySource = 'default' | 'file' | 'api';

/** One policy as the API lists it. */
export interface PolicyEntry {
  /** `pol_…` for a stored policy, `file:<scope>` for the file's, `default` for the shipped default. */
  id: string;
  source: PolicySource;
  /** `default`, `client:<id>` or `site:<id>`. */
  scope: string;
  clientId: string | null;
  siteId: string | null;
  /** False for a file policy a stored one overrides (same scope). */
  inForce: boolean;
  /** The policy with every default filled in. */
  policy: Policy;
  /** The threshold rules it runs: its own plus the shipped ones it keeps. */
  rules: ThresholdRule[];
  createdAt: number | null;
  createdBy: string | null;
  updatedAt: number | null;
  updatedBy: string | null;
}

/** What the admin needs from the tenants concern. */
export interface PolicyTenants {
  clientExists(id: string): Promise<boolean>;
  /** The client of a site, undefined for an unknown site. */
  siteClient(id: string): Promise<string | undefined>;
}

const scopeOf = (p: Pick<Policy, 'clientId' | 'siteId'>) =>
  p.siteId ? `site:${p.siteId}` : p.clientId ? `client:${p.clientId}` : 'default';
const notFound = (what: string) => new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No ${what}` });
const invalid = (message: string, problems: string[]) =>
  new OutpostError('OUTPOST_E_POLICY_INVALID', { message, details: { source: 'request', problems } });

/** What policy administration works with: the stored policies, the file's, the tenants to check scopes against. */
export interface PolicyAdminInit {
  store: PolicyStore;
  policies: DetectionPolicies;
  tenants: PolicyTenants;
  now: () => number;
  logger: Logger;
  /** Called after an add, replace or remove (not a load): other collector nodes reload theirs (docs/0017-nodes.md). */
  onChange?: () => void;
}

/** The policies stored in the database, merged with the file's into the `PolicySet` the engine reads. */
export class PolicyAdmin {
  #stored: { row: StoredPolicy; policy: Policy }[] = [];

  private readonly store: PolicyStore;
  private readonly policies: DetectionPolicies;
  private readonly tenants: PolicyTenants;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly onChange: (() => void) | undefined;

  constructor(init: PolicyAdminInit) {
    this.onChange = init.onChange;
    this.store = init.store;
    this.policies = init.policies;
    this.tenants = init.tenants;
    this.now = init.now;
    this.logger = init.logger;
  }

  /**
   * Loads the stored policies at start and puts them in force. A stored document this version no longer accepts is
   * logged and left out (the scope falls back to the file or the defaults); it stays in the table to be fixed.
   */
  async load(): Promise<void> {
    this.#stored = [];
    for (const row of await this.store.list()) {
      try {
        this.#stored.push({ row, policy: validatePolicy(JSON.parse(row.document), `stored policy ${row.id}`) });
      } catch (err) {
        this.logger.error({ err, policyId: row.id, scope: row.scope }, 'stored detection policy refused; not in force');
      }
    }
    this.policies.setStored(this.#stored.map((s) => s.policy));
  }

  /** Puts a change made here in force, and tells the other nodes. */
  #apply(): void {
    this.policies.setStored(this.#stored.map((s) => s.policy));
    this.onChange?.();
  }

  /** Every policy: the shipped default (when nothing replaces it), the file's, then the stored ones. */
  async entries(): Promise<PolicyEntry[]> {
    const storedScopes = new Set(this.#stored.map((s) => s.row.scope));
    const file = this.policies.filePolicies();
    const out: PolicyEntry[] = [];
    const none = { createdAt: null, createdBy: null, updatedAt: null, updatedBy: null };
    if (!storedScopes.has('default') && !file.some((p) => scopeOf(p) === 'default')) {
      const policy = defaultPolicy();
      out.push({
        id: 'default',
        source: 'default',
        scope: 'default',
        clientId: null,
        siteId: null,
        inForce: true,
        policy,
        rules: thresholdsOf(policy),
        ...none,
      });
    }
    for (const policy of file) {
      const scope = scopeOf(policy);
      const clientId = policy.siteId
        ? ((await this.tenants.siteClient(policy.siteId)) ?? policy.clientId ?? null)
        : (policy.clientId ?? null);
      out.push({
        id: `file:${scope}`,
        source: 'file',
        scope,
        clientId,
        siteId: policy.siteId ?? null,
        inForce: !storedScopes.has(scope),
        policy,
        rules: thresholdsOf(policy),
        ...none,
      });
    }
    for (const { row, policy } of this.#stored)
      out.push({
        id: row.id,
        source: 'api',
        scope: row.scope,
        clientId: row.clientId,
        siteId: row.siteId,
        inForce: true,
        policy,
        rules: thresholdsOf(policy),
        createdAt: row.createdAt,
        createdBy: row.createdBy,
        updatedAt: row.updatedAt,
        updatedBy: row.updatedBy,
      });
    return out;
  }

  /** One policy by id, undefined when unknown. */
  async entry(id: string): Promise<PolicyEntry | undefined> {
    return (await this.entries()).find((e) => e.id === id);
  }

  /**
   * The client a submitted document's scope belongs to, before validating the rest: null for the collector default
   * (or a document whose scope fields are not strings: validation refuses it), undefined for a client or site that
   * does not exist (`named` says which).
   */
  async owner(doc: unknown): Promise<{ clientId: string | null | undefined; named: string }> {
    const d = (doc && typeof doc === 'object' ? doc : {}) as { clientId?: unknown; siteId?: unknown };
    if (typeof d.siteId === 'string' && d.siteId)
      return { clientId: await this.tenants.siteClient(d.siteId), named: `site ${d.siteId}` };
    if (typeof d.clientId === 'string' && d.clientId)
      return {
        clientId: (await this.tenants.clientExists(d.clientId)) ? d.clientId : undefined,
        named: `client ${d.clientId}`,
      };
    return { clientId: null, named: 'collector default' };
  }

  /**
   * Validates a submitted document and finds its owner: a site policy belongs to the site's client (a `clientId`
   * beside it must be that client). Throws OUTPOST_E_POLICY_INVALID naming every wrong field, or OUTPOST_E_NOT_FOUND
   * for a client or site that does not exist.
   */
  async check(
    doc: unknown,
  ): Promise<{ policy: Policy; scope: string; clientId: string | null; siteId: string | null }> {
    if (!doc || typeof doc !== 'object' || Array.isArray(doc))
      throw invalid('request: the body must be one policy object (JSON)', ['/: expected an object']);
    const policy = validatePolicy(doc, 'request');
    if (policy.siteId) {
      const owner = await this.tenants.siteClient(policy.siteId);
      if (!owner) throw notFound(`site ${policy.siteId}`);
      if (policy.clientId && policy.clientId !== owner)
        throw invalid(`request: /clientId: site ${policy.siteId} belongs to another client`, [
          '/clientId: not the client of siteId',
        ]);
      return { policy, scope: scopeOf(policy), clientId: owner, siteId: policy.siteId };
    }
    if (policy.clientId && !(await this.tenants.clientExists(policy.clientId)))
      throw notFound(`client ${policy.clientId}`);
    return { policy, scope: scopeOf(policy), clientId: policy.clientId ?? null, siteId: null };
  }

  /** Stores a checked policy for a scope that has none in the database yet (OUTPOST_E_CONFLICT otherwise). */
  async add(checked: Awaited<ReturnType<PolicyAdmin['check']>>, doc: unknown, by: string): Promise<PolicyEntry> {
    const at = this.now();
    const row: StoredPolicy = {
      id: `pol_${randomBytes(6).toString('hex')}`,
      scope: checked.scope,
      clientId: checked.clientId,
      siteId: checked.siteId,
      document: JSON.stringify(doc),
      createdAt: at,
      createdBy: by,
      updatedAt: at,
      updatedBy: by,
    };
    if (!(await this.store.insert(row))) {
      const held = this.#stored.find((s) => s.row.scope === checked.scope)?.row.id;
      throw new OutpostError('OUTPOST_E_CONFLICT', {
        message: `The ${checked.scope} scope already has a policy${held ? ` (${held})` : ''}: change it with PUT /api/v1/detection/policies/${held ?? '<id>'} (outpost policies set)`,
        details: { scope: checked.scope, id: held ?? null },
      });
    }
    this.#stored.push({ row, policy: checked.policy });
    this.#apply();
    this.logger.info({ policyId: row.id, scope: row.scope, by }, 'detection policy added');
    return (await this.entry(row.id))!;
  }

  /** A stored policy by id (the file's and the default are read-only: OUTPOST_E_CONFLICT says where to change them). */
  storedOrThrow(id: string, entry: PolicyEntry | undefined): StoredPolicy {
    const s = this.#stored.find((x) => x.row.id === id);
    if (s) return s.row;
    if (entry?.source === 'file')
      throw new OutpostError('OUTPOST_E_CONFLICT', {
        message: `${id} comes from the policy file and is read-only here: edit the file and reload (outpost detect policy --reload), or add a policy for the same scope, which overrides it`,
        details: { id, source: 'file' },
      });
    if (entry?.source === 'default')
      throw new OutpostError('OUTPOST_E_CONFLICT', {
        message:
          'The shipped default is read-only: add a policy without clientId and siteId to replace it for the whole collector',
        details: { id, source: 'default' },
      });
    throw notFound(`detection policy ${id}`);
  }

  /** Replaces a stored policy's document; its scope cannot change (remove it and add another). */
  async replace(
    row: StoredPolicy,
    checked: Awaited<ReturnType<PolicyAdmin['check']>>,
    doc: unknown,
    by: string,
  ): Promise<PolicyEntry> {
    if (checked.scope !== row.scope)
      throw invalid(`request: this policy applies to ${row.scope}, the document to ${checked.scope}`, [
        '/clientId, /siteId: the scope of a policy cannot change; remove it and add one for the new scope',
      ]);
    if (!(await this.store.update(row.id, JSON.stringify(doc), this.now(), by)))
      throw notFound(`detection policy ${row.id}`);
    const s = this.#stored.find((x) => x.row.id === row.id)!;
    s.policy = checked.policy;
    s.row = { ...s.row, document: JSON.stringify(doc), updatedAt: this.now(), updatedBy: by };
    this.#apply();
    this.logger.info({ policyId: row.id, scope: row.scope, by }, 'detection policy changed');
    return (await this.entry(row.id))!;
  }

  /** Removes a stored policy: its scope falls back to the file's policy, or the next wider scope. */
  async remove(row: StoredPolicy, by: string): Promise<void> {
    if (!(await this.store.remove(row.id))) throw notFound(`detection policy ${row.id}`);
    this.#stored = this.#stored.filter((x) => x.row.id !== row.id);
    this.#apply();
    this.logger.info({ policyId: row.id, scope: row.scope, by }, 'detection policy removed');
  }
}
