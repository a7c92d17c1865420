/**
 * Pushes to each agent the checks its policy gives it (`checks.policy`): on every connection and after every policy
 * reload. The list's id is a hash of its content, so an agent given the same list again changes nothing.
 */
import { createHash } from 'node:crypto';
import type { ChecksPolicy } from '@outpost/shared';
import { checksFor, type PolicySet } from './policy.js';

/** A connected agent as the push sees it. */
export interface CheckTarget {
  agentId: string;
  clientId: string;
  siteId: string;
  send(msg: ChecksPolicy): void;
}

/** The checks push. */
export class ChecksPush {
  constructor(
    private readonly policies: PolicySet,
    private readonly now: () => number,
  ) {}

  /** The message for one agent. */
  messageFor(t: Omit<CheckTarget, 'send'>): ChecksPolicy {
    const checks = checksFor(this.policies.for(t.clientId, t.siteId), t.agentId);
    const id = createHash('sha256').update(JSON.stringify(checks)).digest('base64url').slice(0, 22);
    return { type: 'checks.policy', id, expiresAt: this.now() + 600_000, checks };
  }

  /** Sends one agent its list. */
  push(t: CheckTarget): void {
    t.send(this.messageFor(t));
  }

  /** Sends every connected agent its list (after a reload). */
  pushAll(targets: Iterable<CheckTarget>): void {
    for (const t of targets) this.push(t);
  }
}
