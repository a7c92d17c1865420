/**
 * The checkpoint per agent (docs/0003-detection.md, "Checkpoint"): which agents' state this node holds, loading an
 * agent's keys before its first sample is judged, writing only the keys that changed since they were last written
 * (upserts, and deletes of keys it dropped), and dropping an agent's state some time after its socket closed (so a
 * quick reconnect to this node keeps it). Nodes sharing a database never write each other's agents. The fleet-wide
 * keys (absence) are written only while this node runs the fleet sweeps (`ownFleet`).
 */
import type { Logger } from 'pino';
import type { CheckpointChanges, DetectionStateStore } from './ports.js';
import type { DetectionState } from './state.js';
import { decodeState, dropAgents, encodeState } from './state-codec.js';
import { agentOfKey } from './state-keys.js';

type Entries = Map<string, Uint8Array>;

/**
 * How long a node keeps an agent's state after its socket closed (its changes are written at the close): a reconnect
 * to the same node within it keeps the state in memory, without a load.
 */
export const DETECTION_RELEASE_MS = 30_000;

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

/** The agents' checkpoints of one engine. */
export class AgentCheckpoints {
  /** Per held agent: its keys as the database has them (what this node last loaded or wrote). */
  readonly #written = new Map<string, Entries>();
  /** The fleet keys as the database has them, while this node owns them. */
  #fleet: Entries | undefined;
  /** Every agent's keys were loaded at start: an agent not held has none (no query needed). */
  #complete = false;
  readonly #loading = new Map<string, Promise<void>>();
  readonly #releases = new Map<string, NodeJS.Timeout>();
  /** The write of released agents in flight: an agent coming back waits for it before loading its keys. */
  #releasing: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: DetectionState,
    private readonly store: DetectionStateStore,
    /** How long an agent's state is kept after its socket closed; undefined: kept (a single node). */
    private readonly releaseAfterMs: number | undefined,
    private readonly logger: Logger,
  ) {}

  /** Agents whose state this node holds. */
  get held(): number {
    return this.#written.size;
  }

  /** Whether this node holds an agent's state. */
  holds(agentId: string): boolean {
    return this.#written.has(agentId);
  }

  /** Loads the whole checkpoint (a single node: one query, every agent held from the start). */
  async loadAll(): Promise<void> {
    const all = await this.store.load();
    decodeState(all, this.state);
    for (const [key, bytes] of all) {
      const agentId = agentOfKey(key);
      if (agentId === null) continue;
      const mine = this.#written.get(agentId) ?? new Map<string, Uint8Array>();
      this.#written.set(agentId, mine);
      mine.set(key, bytes);
    }
    this.#complete = true;
  }

  /** Makes sure an agent's state is loaded (resolves at once when held); cancels a pending release. */
  hold(agentId: string): Promise<void> {
    const pending = this.#releases.get(agentId);
    if (pending) {
      clearTimeout(pending);
      this.#releases.delete(agentId);
    }
    if (this.#written.has(agentId)) return Promise.resolve();
    if (this.#complete) {
      this.#written.set(agentId, new Map());
      return Promise.resolve();
    }
    let loading = this.#loading.get(agentId);
    if (!loading) {
      loading = this.#load(agentId).finally(() => this.#loading.delete(agentId));
      this.#loading.set(agentId, loading);
    }
    return loading;
  }

  async #load(agentId: string): Promise<void> {
    await this.#releasing;
    const entries = await this.store.loadAgent(agentId);
    decodeState(entries, this.state);
    const mine: Entries = new Map();
    for (const [key, bytes] of entries) if (agentOfKey(key) !== null) mine.set(key, bytes);
    this.#written.set(agentId, mine);
  }

  /**
   * The agent's socket closed here: its changes are written at once (the node it moved to loads them), and its state
   * dropped after the delay, unless it comes back. Resolves once those changes are written (never rejects: logged).
   */
  release(agentId: string): Promise<void> {
    if (this.releaseAfterMs === undefined || !this.#written.has(agentId) || this.#releases.has(agentId))
      return this.#releasing;
    this.#releasing = this.#releasing
      .then(async () => {
        const { changes, written } = this.#changes(new Set([agentId]), false);
        await this.store.write(changes);
        written();
      })
      .catch((err: unknown) => this.logger.error({ err, agentId }, 'detection checkpoint of a leaving agent failed'));
    const timer = setTimeout(() => {
      this.#releases.delete(agentId);
      this.#releasing = this.#releasing
        .then(() => this.#drop(new Set([agentId])))
        .catch((err: unknown) => this.logger.error({ err, agentId }, 'detection state release failed'));
    }, this.releaseAfterMs);
    this.#releases.set(agentId, timer.unref());
    return this.#releasing;
  }

  /**
   * Forgets the agents at once and writes their changes: an agent coming back meanwhile loads after the write. A
   * failed write is logged; that agent's state is then what the previous checkpoint wrote.
   */
  async #drop(agents: ReadonlySet<string>): Promise<void> {
    const gone = new Set([...agents].filter((a) => this.#written.has(a) && !this.#releases.has(a)));
    if (!gone.size) return;
    const { changes } = this.#changes(gone, false);
    dropAgents(this.state, gone);
    for (const a of gone) this.#written.delete(a);
    await this.store.write(changes);
  }

  /** This node now runs the fleet sweeps: it loads the fleet keys and writes them from now on. */
  async ownFleet(): Promise<void> {
    const fleet = await this.store.loadFleet();
    decodeState(fleet, this.state);
    this.#fleet = fleet;
  }

  /** Another node runs the fleet sweeps now: this one no longer writes the fleet keys. */
  disownFleet(): void {
    this.#fleet = undefined;
  }

  /** Writes every held agent's changes (and the fleet keys', when owned). */
  async checkpoint(): Promise<void> {
    await this.#releasing;
    const { changes, written } = this.#changes(undefined, this.#fleet !== undefined);
    await this.store.write(changes);
    written();
  }

  /** Stops the release timers (at stop: the last checkpoint writes those agents). */
  stop(): void {
    for (const t of this.#releases.values()) clearTimeout(t);
    this.#releases.clear();
  }

  /**
   * The changes of `only` (default: every held agent), and of the fleet keys when asked, against what was last
   * written; `written()` records them as written once the store took them.
   */
  #changes(only: ReadonlySet<string> | undefined, fleet: boolean): { changes: CheckpointChanges; written: () => void } {
    const now = new Map<string, Entries>();
    const fleetNow: Entries = new Map();
    for (const [key, bytes] of encodeState(this.state)) {
      const agentId = agentOfKey(key);
      if (agentId === null) {
        fleetNow.set(key, bytes);
        continue;
      }
      if (!this.#written.has(agentId) || (only && !only.has(agentId))) continue;
      const mine = now.get(agentId) ?? new Map<string, Uint8Array>();
      now.set(agentId, mine);
      mine.set(key, bytes);
    }
    const changes: CheckpointChanges = { upserts: [], deletes: [] };
    const diff = (agentId: string | null, before: Entries, after: Entries) => {
      for (const [key, bytes] of after) {
        const old = before.get(key);
        if (!old || !sameBytes(old, bytes)) changes.upserts.push({ key, agentId, state: bytes });
      }
      for (const key of before.keys()) if (!after.has(key)) changes.deletes.push(key);
    };
    const agents = only ?? new Set(this.#written.keys());
    for (const agentId of agents) {
      const before = this.#written.get(agentId);
      if (before) diff(agentId, before, now.get(agentId) ?? new Map());
    }
    const fleetBefore = this.#fleet;
    if (fleet && fleetBefore) diff(null, fleetBefore, fleetNow);
    const written = () => {
      for (const agentId of agents)
        if (this.#written.has(agentId)) this.#written.set(agentId, now.get(agentId) ?? new Map());
      if (fleet && this.#fleet === fleetBefore) this.#fleet = fleetNow;
    };
    return { changes, written };
  }
}
