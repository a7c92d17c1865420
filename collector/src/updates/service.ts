/**
 * The updates concern's logic: publishing signed releases (validated, never signed here), assigning a version to
 * an agent (the seam rollouts will drive), and recording and auditing what agents report back.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { UpdateStatus } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import type { Actor } from '../auth/index.js';
import { actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import { type DeploymentStore, ReleaseMirror } from '../deployment/index.js';
import { type ReleaseInfo, ReleaseRepository, type RepositoryState } from './repository.js';
import { type Assignment, type StoredUpdateStatus, UpdatesStore } from './store.js';

/** What the concern needs from the agents concern. */
export interface UpdatesDeps {
  /** Sends a message to an agent when it is connected; false when it is not. */
  /** True when a socket (on this node or another) took it. */
  send(
    agentId: string,
    msg: { type: 'update.assign'; id: string; expiresAt: number; version: string },
  ): boolean | Promise<boolean>;
  /** The client an agent belongs to (for audit rows), or undefined when unknown. */
  clientOf(agentId: string): Promise<string | undefined>;
}

/** How long an assignment stays valid for an offline agent. */
const ASSIGNMENT_TTL_MS = 7 * 86_400_000;

/** What the updates service is built from. */
export interface UpdatesInit {
  db: SqlDb;
  /** Where the release repository lives (its `releases/` folder). */
  dataDir: string;
  /**
   * Several nodes, each with its own data directory: the repository is kept alike on every node through the
   * database (docs/0017-nodes.md). Absent: the directory alone, as on a single node.
   */
  shared?: DeploymentStore | undefined;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  deps: UpdatesDeps;
}

/** Releases and agent updates. */
export class Updates {
  readonly repository: ReleaseRepository;
  readonly #store: UpdatesStore;
  readonly #mirror: ReleaseMirror | undefined;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly deps: UpdatesDeps;

  constructor(init: UpdatesInit) {
    this.repository = new ReleaseRepository(init.dataDir);
    this.#store = new UpdatesStore(init.db);
    this.audit = init.audit;
    this.clock = init.clock;
    this.logger = init.logger;
    this.deps = init.deps;
    this.#mirror = init.shared && new ReleaseMirror(init.shared, this.repository.dir, init.logger);
  }

  /**
   * Brings this node's copy of the repository up to what was last published through any node. A database that does
   * not answer leaves the copy as it is (logged): what it serves is signed and verified by agents either way.
   */
  async sync(): Promise<void> {
    try {
      await this.#mirror?.sync();
    } catch (err) {
      this.logger.warn({ err }, 'release repository not synced from the database; serving the local copy');
    }
  }

  openUpload(): string {
    return this.repository.openUpload();
  }

  putFile(id: string, kind: 'metadata' | 'targets', path: string, body: Readable): Promise<number> {
    return this.repository.putFile(id, kind, path, body);
  }

  /** Validates and publishes an upload; audits success and refusal alike. */
  async publish(id: string, actor: Actor, remoteIp: string): Promise<ReleaseInfo[]> {
    try {
      const commit = () => this.repository.commit(id);
      const { releases, firstRoot } = await (this.#mirror ? this.#mirror.publish(commit) : commit());
      await this.audit.record({
        type: 'release.publish',
        code: 'OUTPOST_I_RELEASE_PUBLISHED',
        result: 'success',
        actor: actorRef(actor),
        clientId: null,
        resource: 'releases',
        remoteIp,
        details: { firstRoot, roles: this.repository.state().roles, releases: releases.length },
      });
      this.logger.info({ firstRoot, releases: releases.length }, 'release repository published');
      return releases;
    } catch (err) {
      await this.audit.record({
        type: 'release.publish',
        code: (err as { code?: string }).code ?? 'OUTPOST_E_RELEASE_INVALID',
        result: 'failure',
        actor: actorRef(actor),
        clientId: null,
        resource: 'releases',
        remoteIp,
        details: { message: String((err as Error).message).slice(0, 500) },
      });
      throw err;
    }
  }

  state(): RepositoryState {
    return this.repository.state();
  }

  /**
   * Assigns `version` to an agent and tells it now if it is connected (else at its next connection). A caller that
   * must survive a crash between deciding and assigning (rollouts) passes its own `id`: assigning the same id again
   * stores nothing new and only resends it (the agent acts once per id).
   */
  async assign(
    agentId: string,
    clientId: string,
    version: string,
    actor: Actor,
    opts: { id?: string; context?: Record<string, unknown> } = {},
  ): Promise<{ assignment: Assignment; sent: boolean }> {
    const now = this.clock.now();
    const assignment: Assignment = {
      id: opts.id ?? randomBytes(12).toString('base64url'),
      agentId,
      version,
      createdAt: now,
      expiresAt: now + ASSIGNMENT_TTL_MS,
    };
    const fresh = await this.#store.insertAssignment(assignment, actor.kind === 'user' ? actor.id : null);
    if (fresh)
      await this.audit.record({
        type: 'agent.update',
        code: 'OUTPOST_I_UPDATE_ASSIGNED',
        result: 'success',
        actor: actorRef(actor),
        clientId,
        agentId,
        resource: `agent:${agentId}`,
        details: { version, assignmentId: assignment.id, ...opts.context },
      });
    const sent = await this.#send(assignment);
    return { assignment, sent };
  }

  #send(a: Assignment): boolean | Promise<boolean> {
    return this.deps.send(a.agentId, { type: 'update.assign', id: a.id, expiresAt: a.expiresAt, version: a.version });
  }

  /** On every agent connection: its latest unexpired assignment again (the agent ignores one it already handled). */
  async onAgentReady(agentId: string): Promise<void> {
    const a = await this.#store.latestAssignment(agentId, this.clock.now());
    if (a) await this.#send(a);
  }

  /** The `update.status` stream sink: stores and audits every step; refusals and rollbacks as failures. */
  async ingest(items: { agentId: string; msg: UpdateStatus }[], now: number): Promise<void> {
    const fresh = await this.#store.insertStatuses(items, now);
    for (const s of fresh) {
      const failed = s.phase === 'refused' || s.phase === 'rolled_back';
      await this.audit.record({
        type: `agent.update.${s.phase}`,
        code: s.code ?? (s.phase === 'healthy' ? 'OUTPOST_I_UPDATE_HEALTHY' : 'OUTPOST_I_UPDATE_SWAPPED'),
        result: failed ? 'failure' : 'success',
        actor: { kind: 'agent', id: s.agentId, name: null },
        clientId: (await this.deps.clientOf(s.agentId)) ?? null,
        agentId: s.agentId,
        resource: `agent:${s.agentId}`,
        details: { from: s.from, to: s.to, assignmentId: s.assignmentId, reason: s.reason },
      });
      this.logger[failed ? 'warn' : 'info'](
        { agentId: s.agentId, phase: s.phase, from: s.from, to: s.to, code: s.code },
        'agent update status',
      );
    }
  }

  /** An agent's update history, newest first. */
  statuses(agentId: string, limit = 50): Promise<StoredUpdateStatus[]> {
    return this.#store.statuses(agentId, limit);
  }
}
