/**
 * What a node loads from the database before it wires anything, when the deployment stores its state in PostgreSQL:
 * the session-ticket key and (TLS on, no operator certificate) the TLS identity, plus the store the release and
 * recording sharing use. On SQLite nothing: one node, its data directory holds all of it.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { SqlDb } from '../db/index.js';
import type { TicketKey } from '../sessions/index.js';
import type { CertificateMaterial } from '../tls/index.js';
import { sharedCertificate, sharedTicketKey } from './identity.js';
import { DeploymentStore } from './store.js';

/** The deployment-wide state a node took from the database. */
export interface SharedState {
  store: DeploymentStore;
  ticketKey: TicketKey;
  /** The TLS identity every node presents; undefined with TLS off or an operator's certFile/keyFile. */
  tls: CertificateMaterial | undefined;
}

/** What `loadSharedState` reads from the configuration. */
export interface SharedStateConfig {
  dataDir: string;
  storage: { url?: string | undefined };
  cluster?: { nodeId?: string | undefined } | undefined;
  tls: {
    enabled: boolean;
    certFile?: string | undefined;
    keyFile?: string | undefined;
    hostnames?: string[] | undefined;
  };
  logger: Logger;
}

/** The shared state with PostgreSQL (`storage.url`), undefined on SQLite. */
export async function loadSharedState(config: SharedStateConfig, sql: SqlDb): Promise<SharedState | undefined> {
  if (!config.storage.url || sql.dialect !== 'postgres') return undefined;
  const store = new DeploymentStore(sql);
  const init = {
    store,
    node: config.cluster?.nodeId ?? `${hostname()}-${process.pid}`,
    dataDir: config.dataDir,
    logger: config.logger.child({ concern: 'deployment' }),
  };
  const ticketKey = await sharedTicketKey(init);
  const operatorCert = Boolean(config.tls.certFile || config.tls.keyFile);
  const tls =
    config.tls.enabled && !operatorCert
      ? await sharedCertificate({ ...init, hostnames: config.tls.hostnames })
      : undefined;
  return { store, ticketKey, tls };
}
