/**
 * What the organisation's offline key signs for a script (docs/0010-jobs.md). The collector stores the signature and
 * sends it with the script; the agent verifies it against the public key in its own configuration, so a collector
 * that is broken into cannot make an agent that requires signed scripts run anything else. Both `outpost scripts
 * sign` (offline) and the agent build the same bytes from here.
 */

/** The signed bytes: a domain tag, the script's name and the SHA-256 of its body (hex). */
export function scriptSigningPayload(name: string, sha256: string): Buffer {
  return Buffer.from(`outpost-script-v1\n${name}\n${sha256}\n`, 'utf8');
}
