/**
 * The rule that decides whether a verified release may be installed (docs/0011-releases.md). Pure: the caller
 * gives what is running, the highest version that ever ran here and the signed target's fields.
 */
import { compareReleaseVersions, OutpostError, type ReleaseCustom } from '@outpost/shared';

/** What the rule looks at. */
export interface DecisionInput {
  /** The version the collector assigned to this agent. */
  assigned: string;
  /** The version running now. */
  running: string;
  /** The highest version that completed an authenticated hello here (persisted), if any. */
  highest: string | undefined;
  /** This agent's platform (linux-x64, …). */
  platform: string;
  /** The signed target's custom fields (from the offline-signed targets role). */
  custom: ReleaseCustom;
}

/**
 * Undefined when the release may be installed; otherwise the coded refusal. A version only goes forward past the
 * highest one ever run, unless the offline targets key signed it as a permitted rollback; it must be signed for
 * this platform and be the version assigned.
 */
export function decideUpdate(i: DecisionInput): OutpostError | undefined {
  if (i.custom.platform !== i.platform) {
    return new OutpostError('OUTPOST_E_UPDATE_NO_TARGET', {
      message: `The release is signed for ${i.custom.platform}, this agent is ${i.platform}`,
      details: { platform: i.platform, signedFor: i.custom.platform },
    });
  }
  if (i.custom.version !== i.assigned) {
    return new OutpostError('OUTPOST_E_UPDATE_NO_TARGET', {
      message: `The signed target is ${i.custom.version}, not the assigned ${i.assigned}`,
    });
  }
  if (i.assigned === i.running) {
    return new OutpostError('OUTPOST_E_UPDATE_DOWNGRADE', { message: `${i.assigned} is already running` });
  }
  const floor = i.highest !== undefined && compareReleaseVersions(i.highest, i.running) > 0 ? i.highest : i.running;
  if (compareReleaseVersions(i.assigned, floor) > 0) return undefined;
  if (i.custom.rollbackAllowed === true) return undefined;
  return new OutpostError('OUTPOST_E_UPDATE_DOWNGRADE', {
    message: `${i.assigned} is not newer than ${floor}, the highest version run here, and was not signed as a rollback target`,
    details: { assigned: i.assigned, highest: floor },
  });
}
