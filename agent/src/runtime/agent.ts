/**
 * The running agent: one connection manager, one durable outbox, heartbeats, and the pump that sends the outbox
 * to the collector with a bounded window of unacknowledged messages (docs/0001-protocol.md).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastSeqOf, OutpostError, type SequencedBody, TokenBucket } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/index.js';
import { ConnectionManager, type ConnectionState, type Session } from '../connection/index.js';
import { collectFacts } from '../facts/index.js';
import { loadOrCreateKey } from '../identity/index.js';
import { Outbox } from '../outbox/index.js';
import { type Clock, sleep, systemClock } from '../time.js';
import { AGENT_VERSION } from '../version.js';
import { buildCommandTable } from './command-table.js';
import { type AgentComponent, type AgentContext, type CommandTable, dispatchCommand } from './commands.js';
import { keyHello } from './hello.js';
import { lockStateDir } from './lock.js';

/** Runtime options beyond the configuration file. */
export interface RuntimeOptions {
  logger: Logger;
  /** Unacknowledged messages allowed in flight. */
  window?: number;
  backoff?: { baseMs: number; capMs: number };
  /** Diagnostic events to emit, to check the pipeline end to end (`run --test-events`). */
  testEvents?: { count: number; intervalMs: number } | undefined;
  /** Asked to restart (an update flipped the pointer): the CLI stops the runtime and exits with the restart code. */
  onRestart?: ((reason: string) => void) | undefined;
  /** The time the runtime and its components decide with (the real clock by default). */
  clock?: Clock | undefined;
}

/** What `status` reads. */
export interface AgentStatusFile {
  pid: number;
  version: string;
  agentId: string;
  state: ConnectionState;
  since: number;
  lastError: string | null;
  outbox: { pending: number; acked: number; nextSeq: number; droppedTotal: number };
  updatedAt: number;
}

/** Wakes the pump when an acknowledgement frees room in the window. */
interface AckWaker {
  wake?: (() => void) | undefined;
}

/** The agent process's core. */
export class AgentRuntime {
  #outbox!: Outbox;
  #connection!: ConnectionManager;
  #timers: NodeJS.Timeout[] = [];
  #state: ConnectionState = 'idle';
  readonly #clock: Clock;
  #since: number;
  #lastError: string | null = null;
  #stopped = false;
  #unlock: (() => void) | undefined;
  #table!: CommandTable;
  #components: AgentComponent[] = [];
  #context!: AgentContext;
  readonly #started: number;

  constructor(
    private readonly config: AgentConfig,
    private readonly options: RuntimeOptions,
  ) {
    this.#clock = options.clock ?? systemClock;
    this.#since = this.#clock.now();
    this.#started = this.#clock.now();
  }

  get outbox(): Outbox {
    return this.#outbox;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Opens the outbox, records the start, and connects. */
  async start(): Promise<void> {
    const { logger } = this.options;
    const keys = loadOrCreateKey(this.config.stateDir, false);
    this.#unlock = lockStateDir(this.config.stateDir);
    this.#outbox = await Outbox.open({
      dir: join(this.config.stateDir, 'outbox'),
      maxEntries: this.config.outboxMaxEntries,
      maxBytes: this.config.outboxMaxBytes,
      logger,
    });
    const facts = await collectFacts();
    this.#context = {
      config: this.config,
      logger,
      clock: this.#clock,
      report: (body) => this.report(body),
      restart: (reason) => {
        logger.info({ reason }, 'restart requested');
        this.options.onRestart?.(reason);
      },
    };
    ({ table: this.#table, components: this.#components } = buildCommandTable());
    for (const c of this.#components) await c.start(this.#context);
    await this.report({
      type: 'stream.event',
      time: this.#clock.now(),
      kind: 'agent.started',
      data: { version: AGENT_VERSION, pid: process.pid },
    });
    this.#connection = new ConnectionManager({
      dialOptions: {
        server: this.config.server,
        caFingerprint: this.config.caFingerprint,
        clock: this.#clock,
        hello: (nonce) => keyHello(keys, this.config.agentId, facts, nonce),
      },
      events: {
        onSession: (s) => void this.#serve(s),
        onState: (state, detail) => {
          this.#state = state;
          this.#since = this.#clock.now();
          if (detail.error) this.#lastError = `${detail.error.code}: ${detail.error.message}`;
          this.#writeStatus();
        },
      },
      logger,
      backoff: this.options.backoff ?? { baseMs: 1000, capMs: 5 * 60_000 },
    });
    this.#connection.start();
    this.#timers.push(setInterval(() => this.#writeStatus(), 5000).unref());
    if (this.options.testEvents) this.#emitTestEvents(this.options.testEvents);
  }

  /** Puts one message in the outbox; it reaches the collector whenever a session is up. */
  async report(body: SequencedBody): Promise<number> {
    return (await this.#outbox.append(body)).seq;
  }

  #emitTestEvents({ count, intervalMs }: { count: number; intervalMs: number }): void {
    let n = 0;
    const tick = async () => {
      if (this.#stopped || n >= count) return;
      n++;
      const seq = await this.report({ type: 'stream.event', time: this.#clock.now(), kind: 'test', data: { n } });
      // One line per durable event, so a test that kills the agent knows exactly what was promised.
      this.options.logger.info({ testEvent: n, seq }, 'test event stored');
      this.#timers.push(setTimeout(() => void tick(), intervalMs));
    };
    void tick();
  }

  /** Runs one authenticated session: acknowledgements, heartbeats, liveness, and the outbox pump. */
  async #serve(session: Session): Promise<void> {
    const stop = new AbortController();
    void session.closed.then(() => stop.abort());
    const acks: AckWaker = {};
    this.#routeMessages(session, acks);
    const beat = this.#heartbeat(session, stop.signal);
    try {
      await this.#outbox.syncWithCollector(session.welcome.lastSeq);
      beat();
      for (const c of this.#components) c.onSession?.(session, this.#context);
      await this.#pump(session, stop.signal, acks);
    } catch (err) {
      // A collector that breaks the protocol (a welcome cursor past our last sequence number) is told why.
      this.options.logger.error({ err, collectorLastSeq: session.welcome.lastSeq }, 'outbox pump failed; reconnecting');
      if (err instanceof OutpostError && err.wsCloseCode) session.close(err.wsCloseCode, err.code);
      else session.terminate();
    }
  }

  /** Collector messages: acknowledgements trim the outbox (and wake the pump); the rest go to the command table. */
  #routeMessages(session: Session, acks: AckWaker): void {
    const { logger } = this.options;
    const commandContext = {
      ...this.#context,
      session,
      reply: (msg: Parameters<Session['send']>[0]) => session.send(msg),
    };
    session.onMessage((msg) => {
      if (msg.type === 'stream.ack')
        // A failed acknowledgement (disk error) only delays trimming: the events stay and are resent, never lost.
        this.#outbox.ack(msg.seq).then(
          () => acks.wake?.(),
          (err: unknown) => {
            logger.error({ err, seq: msg.seq }, 'outbox acknowledgement failed');
            // An ack past what this agent issued is the collector breaking the protocol: close, back off, retry.
            if (err instanceof OutpostError && err.code === 'OUTPOST_E_BAD_MESSAGE')
              session.close(err.wsCloseCode, err.code);
          },
        );
      else dispatchCommand(this.#table, msg, commandContext);
    });
  }

  /** Heartbeats every interval until `stop`, and the liveness check; returns the function that sends one now. */
  #heartbeat(session: Session, stop: AbortSignal): () => void {
    const interval = session.welcome.heartbeatIntervalMs;
    const beat = () =>
      session.send({
        type: 'agent.heartbeat',
        time: this.#clock.now(),
        uptimeSec: Math.floor((this.#clock.now() - this.#started) / 1000),
        outboxPending: this.#outbox.stats().pending,
      });
    const heartbeat = setInterval(() => {
      // The collector pings at least every heartbeat interval; three silent intervals mean the path is dead.
      if (this.#clock.now() - session.lastActivity > 3 * interval + 10_000) {
        this.options.logger.warn(
          { silentMs: this.#clock.now() - session.lastActivity },
          'collector silent; reconnecting',
        );
        session.terminate();
        return;
      }
      beat();
    }, interval);
    stop.addEventListener('abort', () => clearInterval(heartbeat), { once: true });
    return beat;
  }

  /** Sends the outbox in order, at most `window` unacknowledged, paced under the collector's rate limit. */
  async #pump(session: Session, stop: AbortSignal, acks: AckWaker): Promise<void> {
    const outbox = this.#outbox;
    const window = this.options.window ?? 256;
    // Stay under the collector's limit (heartbeats included) with a margin, so a backlog drains without a cut-off.
    const pace = new TokenBucket(
      session.welcome.messagesPerSecond * 0.8,
      Math.max(1, Math.floor(session.welcome.messageBurst / 2)),
      this.#clock.now(),
    );
    let lastSent = session.welcome.lastSeq;
    while (!stop.aborted) {
      const inFlight = lastSent - outbox.stats().acked;
      if (inFlight >= window || session.ws.bufferedAmount > 1024 * 1024) {
        await new Promise<void>((resolve) => {
          acks.wake = resolve;
          const t = setTimeout(resolve, 1000);
          stop.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
        continue;
      }
      const batch = outbox.pendingAfter(lastSent, window - inFlight);
      if (batch.length === 0) {
        await outbox.waitForPendingAfter(lastSent, stop).catch(() => undefined);
        continue;
      }
      for (const msg of batch) {
        const wait = pace.take(this.#clock.now());
        if (wait > 0) {
          await sleep(wait, stop);
          break;
        }
        session.send(msg);
        lastSent = lastSeqOf(msg);
      }
    }
  }

  #writeStatus(): void {
    if (!this.#outbox) return;
    const s = this.#outbox.stats();
    const status: AgentStatusFile = {
      pid: process.pid,
      version: AGENT_VERSION,
      agentId: this.config.agentId,
      state: this.#state,
      since: this.#since,
      lastError: this.#lastError,
      outbox: { pending: s.pending, acked: s.acked, nextSeq: s.nextSeq, droppedTotal: s.droppedTotal },
      updatedAt: this.#clock.now(),
    };
    const file = join(this.config.stateDir, 'status.json');
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(status), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      this.options.logger.warn({ err, file }, 'cannot write status file');
    }
  }

  /** Stops: closes the session, flushes the outbox. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    for (const c of this.#components) {
      try {
        await c.stop();
      } catch (err) {
        this.options.logger.error({ err, component: c.name }, 'component failed to stop');
      }
    }
    await this.#connection?.stop();
    this.#writeStatus();
    await this.#outbox?.close();
    this.#unlock?.();
  }
}
