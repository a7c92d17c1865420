/**
 * The deployment-wide identity every node must present alike (docs/0017-nodes.md, "One data directory per node"):
 * the TLS certificate agents pin by fingerprint, and the key session tickets are signed with (an agent checks a ticket
 * signed on node A against the key node B announced). With PostgreSQL they are rows of `deployment_secrets`; the
 * first node to start inserts its own — the files an earlier single-node start left in its data directory, so an
 * upgrade keeps the fingerprint agents already pinned, or new ones — and every other node loads them. Nothing is
 * written to the data directory.
 */
import { OutpostError } from '@outpost/shared';
import { newTicketKeyPem, readTicketKeyPem, type TicketKey, ticketKeyFromPem } from '../sessions/index.js';
import { type CertificateMaterial, fingerprintOf, generateSelfSigned, readGenerated } from '../tls/index.js';
import type { DeploymentStore } from './store.js';

/** Where the identity came from, for logs. */
const SOURCE = 'database: deployment_secrets';

/** What the identity is resolved from. */
export interface IdentityInit {
  store: DeploymentStore;
  /** This node's name, recorded as the creator of what it inserts. */
  node: string;
  dataDir: string;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

/** The session-ticket key of the deployment. */
export async function sharedTicketKey(init: IdentityInit): Promise<TicketKey> {
  const local = readTicketKeyPem(init.dataDir);
  const { value, created } = await init.store.secret('session-ticket-key', init.node, async () => {
    return local ?? newTicketKeyPem();
  });
  if (created) init.logger.info({ source: SOURCE, fromDataDir: local !== undefined }, 'stored the session-ticket key');
  else if (local && local !== value)
    init.logger.warn({ source: SOURCE }, 'the data directory holds another session-ticket key: it is not used');
  return ticketKeyFromPem(value);
}

/** The generated TLS certificate of the deployment (an operator's certFile/keyFile is used as it is, per node). */
export async function sharedCertificate(
  init: IdentityInit & { hostnames: string[] | undefined },
): Promise<CertificateMaterial> {
  const local = readGenerated(init.dataDir);
  const { value, created } = await init.store.secret('tls-identity', init.node, async () => {
    if (local) return JSON.stringify(local);
    const pems = await generateSelfSigned(init.hostnames);
    return JSON.stringify({ cert: pems.cert, key: pems.private });
  });
  const pair = parsePair(value);
  // Parses the certificate: a corrupt row stops the start with a config error, not a TLS listener that fails later.
  const fingerprint = fingerprintOf(pair.cert, SOURCE);
  if (created)
    init.logger.info({ source: SOURCE, fingerprint, fromDataDir: local !== undefined }, 'stored the TLS identity');
  else if (local && local.cert !== pair.cert)
    init.logger.warn(
      { source: SOURCE, fingerprint },
      'the data directory holds another TLS certificate: it is not used',
    );
  return { ...pair, fingerprint, generated: created && !local, certPath: SOURCE, keyPath: SOURCE };
}

function parsePair(value: string): { cert: string; key: string } {
  try {
    const v = JSON.parse(value) as { cert?: unknown; key?: unknown };
    if (typeof v.cert === 'string' && typeof v.key === 'string') return { cert: v.cert, key: v.key };
  } catch {
    // Reported below with what is known.
  }
  throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
    message: 'The stored TLS identity (deployment_secrets tls-identity) is not a certificate and key',
  });
}
