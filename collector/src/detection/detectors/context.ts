/** What every detector works with: the engine's state, the way out (raise and clear), the clock and where agents sit. */
import type { Clock } from '../../config.js';
import type { SignalEmitter } from '../emitter.js';
import type { Policy } from '../policy.js';
import type { AgentPlace } from '../ports.js';
import type { DetectionState } from '../state.js';

/** Handed by the engine to each detector. */
export interface DetectorContext {
  readonly state: DetectionState;
  readonly emit: SignalEmitter;
  readonly clock: Clock;
  /** Where an agent sits (cached by the engine); undefined for an unknown or revoked agent. */
  placeOf(agentId: string): Promise<AgentPlace | undefined>;
  /** The policy in force where an agent sits. */
  policyOf(place: AgentPlace): Policy;
}
