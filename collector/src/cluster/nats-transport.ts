/**
 * The bus transport over NATS (the `nats` 2.x client: plain JavaScript over node:net, Node 20 and 24). One connection
 * per collector node. NATS's own "no responders" status (a request to a subject nobody subscribes to is answered at
 * once by the server) is what makes "offline everywhere" immediate instead of a timeout.
 */
import { OutpostError } from '@outpost/shared';
import { connect, ErrorCode, type NatsConnection, type NatsError } from 'nats';
import type { Logger } from 'pino';
import type { BusTransport, TransportHandler } from './transport.js';

/** How to reach NATS. */
export interface NatsTransportOptions {
  /** `nats://host:port` addresses of the cluster (one is enough; the client learns the others). */
  servers: string[];
  /** The connection's name in the server's monitoring (the node id). */
  name: string;
  logger: Logger;
  /** How long to wait for the first connection. */
  connectTimeoutMs?: number;
}

const isNatsError = (err: unknown): err is NatsError =>
  err instanceof Error && typeof (err as { code?: unknown }).code === 'string';

/** Connects to NATS; OUTPOST_E_BUS_UNAVAILABLE when no server answers. */
export async function natsTransport(opts: NatsTransportOptions): Promise<BusTransport> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.servers,
      name: opts.name,
      timeout: opts.connectTimeoutMs ?? 5000,
      // Reconnect for ever: a node outlives a NATS restart; meanwhile requests fail with a coded error.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_BUS_UNAVAILABLE', { cause, details: { servers: opts.servers } });
  }
  void watchStatus(nc, opts.logger);
  return new NatsTransport(nc, opts.logger);
}

/** Logs every connection state change (disconnect, reconnect, server errors): they explain a node's refusals. */
async function watchStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const s of nc.status()) logger.info({ bus: 'nats', event: s.type, data: String(s.data) }, 'bus status');
}

class NatsTransport implements BusTransport {
  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
  ) {}

  /** Never throws: a publish on a closing connection is what a dying node does last, and is dropped like a lost one. */
  publish(subject: string, data: Uint8Array): void {
    if (this.nc.isClosed() || this.nc.isDraining()) return;
    try {
      this.nc.publish(subject, data);
    } catch (err) {
      this.logger.warn({ bus: 'nats', subject, err: String(err) }, 'bus publish dropped');
    }
  }

  /** On a closing connection, a no-op (logged): the node is going away, and nothing will be delivered anyway. */
  subscribe(subject: string, handler: TransportHandler): () => void {
    if (this.nc.isClosed() || this.nc.isDraining()) {
      this.logger.warn({ bus: 'nats', subject }, 'bus subscription refused: the connection is closing');
      return () => {};
    }
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          this.logger.warn({ bus: 'nats', subject, err: err.message }, 'bus subscription error');
          return;
        }
        handler(msg.data, msg.reply ? (answer) => msg.respond(answer) : undefined);
      },
    });
    return () => {
      if (!this.nc.isClosed()) sub.unsubscribe();
    };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    try {
      const msg = await this.nc.request(subject, data, { timeout: timeoutMs, noMux: false });
      return msg.data;
    } catch (err) {
      if (isNatsError(err) && err.code === ErrorCode.NoResponders)
        throw new OutpostError('OUTPOST_E_AGENT_OFFLINE', { details: { subject } });
      if (isNatsError(err) && err.code === ErrorCode.Timeout)
        throw new OutpostError('OUTPOST_E_BUS_TIMEOUT', { details: { subject, timeoutMs } });
      throw new OutpostError('OUTPOST_E_BUS_UNAVAILABLE', { cause: err, details: { subject } });
    }
  }

  async flush(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    // drain: what this node already published still goes out before the connection closes.
    await this.nc.drain().catch((err: unknown) => {
      this.logger.warn({ bus: 'nats', err: String(err) }, 'bus drain failed; closing');
      return this.nc.close();
    });
  }
}
