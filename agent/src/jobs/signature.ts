/**
 * Checks a script against the organisation's offline key before the agent runs it (docs/0010-jobs.md): the body
 * must hash to the sha256 the job names, and, when the agent requires signed scripts, the signature over
 * `scriptSigningPayload(name, sha256)` must verify with the public key of the agent's own configuration.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { type JobSpec, OutpostError, scriptSigningPayload } from '@outpost/shared';

/** The agent's signing requirements (config `jobs`). */
export interface ScriptTrust {
  requireSigned: boolean;
  /** Raw Ed25519 public key, base64url. */
  publicKey: string | undefined;
}

/** Throws a coded refusal when the script may not run here; returns nothing when it may. */
export function checkScript(spec: Extract<JobSpec, { kind: 'script' }>, trust: ScriptTrust): void {
  const digest = createHash('sha256').update(spec.body, 'utf8').digest('hex');
  if (digest !== spec.sha256)
    throw new OutpostError('OUTPOST_E_JOB_BAD_SIGNATURE', {
      message: `script ${spec.name} v${spec.version}: the body does not hash to the sha256 the job names`,
    });
  if (!trust.requireSigned) return;
  if (!spec.signature)
    throw new OutpostError('OUTPOST_E_JOB_UNSIGNED_SCRIPT', {
      message: `script ${spec.name} v${spec.version} is not signed and this agent runs only signed scripts`,
    });
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: trust.publicKey ?? '' }, format: 'jwk' });
  const ok = verify(null, scriptSigningPayload(spec.name, spec.sha256), key, Buffer.from(spec.signature, 'base64url'));
  if (!ok)
    throw new OutpostError('OUTPOST_E_JOB_BAD_SIGNATURE', {
      message: `script ${spec.name} v${spec.version}: the signature does not verify with the organisation key`,
    });
}
