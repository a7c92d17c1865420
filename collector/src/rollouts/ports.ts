/** What the rollouts concern needs from the others (as functions: it never reads their tables), and its counts. */
import type { IncidentSink } from '../incidents/index.js';
import type { AgentState } from './halt.js';
import type { RolloutTarget } from './schemas.js';

/** An agent as the rollout sees it. */
export interface FleetAgent {
  agentId: string;
  clientId: string;
  siteId: string;
  /** The release platform (`linux-x64`), from the agent's reported OS and architecture. */
  platform: string;
  /** The version it reported at its last hello. */
  version: string;
  online: boolean;
  revoked: boolean;
  /** Its tags (a `ringTag` picks the test ring among the targets by them). */
  tags: readonly string[];
}

/** What an agent reported for one assignment (its latest step). */
export interface AssignmentOutcome {
  phase: 'refused' | 'swapped' | 'healthy' | 'rolled_back';
  code: string | null;
  reason: string | null;
  time: number;
}

/** What the rollouts concern needs from the others, as functions (it never reads their tables). */
export interface RolloutsDeps {
  /** The agents a target names (not revoked). */
  resolve(target: RolloutTarget): Promise<FleetAgent[]>;
  /** One agent now, or undefined when it is unknown. */
  agent(agentId: string): Promise<FleetAgent | undefined>;
  /** The updates concern's seam: assign `version` under this id (idempotent by id); true when sent now. */
  assign(a: { agentId: string; clientId: string; version: string; id: string; rolloutId: string }): Promise<boolean>;
  /** The latest step an agent reported for an assignment. */
  outcome(agentId: string, assignmentId: string): Promise<AssignmentOutcome | undefined>;
  /** Published releases (version, platform, signed as a rollback target). */
  releases(): { version: string; platform: string; rollbackAllowed: boolean }[];
  /** Where a halt opens its incident (notifications follow from the incidents concern). */
  incidents: IncidentSink;
}

/** Tunables of the driver. */
export interface RolloutsOptions {
  tickMs: number;
}

/** Counts of a wave, as people read them. */
export interface WaveCounts {
  pending: number;
  updating: number;
  healthy: number;
  failed: number;
  rolledBack: number;
  skipped: number;
}

/** Zero of everything. */
export const emptyCounts = (): WaveCounts => ({
  pending: 0,
  updating: 0,
  healthy: 0,
  failed: 0,
  rolledBack: 0,
  skipped: 0,
});
/** Adds `n` agents in state `s` to the counts people read. */
export function addCount(c: WaveCounts, s: AgentState, n = 1): void {
  if (s === 'pending') c.pending += n;
  else if (s === 'assigned' || s === 'updating') c.updating += n;
  else if (s === 'healthy') c.healthy += n;
  else if (s === 'failed' || s === 'timed_out') c.failed += n;
  else if (s === 'rolled_back') c.rolledBack += n;
  else c.skipped += n;
}

/** The release platform of an agent's OS and architecture (the packaging's names). */
export function releasePlatformOf(os: { platform: string; arch: string }): string {
  const name = os.platform === 'win32' ? 'win' : os.platform;
  return `${name}-${os.arch}`;
}
