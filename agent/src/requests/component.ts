/**
 * The agent's request desk (docs/0014-requests.md): a Unix socket every local user may connect to, where a user files
 * a request or asks for the status of their own. The user is proved by the OS (proof.ts), the request is stamped with
 * that user, the machine's snapshot and the time, and goes through the durable outbox (exactly once, even if the
 * collector is down). The collector's `request.state` brings the ticket number back.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { OutpostError, type RequestState } from '@outpost/shared';
import type { Session } from '../connection/index.js';
import type { AgentComponent, AgentContext } from '../runtime/commands.js';
import { RequestLedger } from './ledger.js';
import { type LocalAnswer, type LocalAsk, localAsks, MAX_LINE_BYTES } from './local-protocol.js';
import { channelPaths, requestDir } from './paths.js';
import { newProofName, prepareProofDir, verifyProof } from './proof.js';
import { takeSnapshot } from './snapshot.js';
import { userName } from './users.js';

/** Options (tests shorten the waits). */
export interface RequestsOptions {
  /** How long a user waits for the ticket number before being told the request is queued. */
  ticketWaitMs?: number;
  /** How long a caller has to prove itself and ask. */
  askTimeoutMs?: number;
  /** Requests one OS user may file per hour (a stuck script or an angry user must not flood the queue). */
  maxPerHour?: number;
}

/** Connections served at once: far above people asking, low enough that a local loop cannot exhaust the agent. */
const MAX_CONNECTIONS = 32;

const coded = (err: unknown): LocalAnswer =>
  err instanceof OutpostError
    ? { ok: false, code: err.code, message: err.message }
    : { ok: false, code: 'OUTPOST_E_INTERNAL', message: 'The agent failed to handle the request' };

/** The component: serves the local channel for the runtime's whole life. */
export class RequestsComponent implements AgentComponent {
  readonly name = 'requests';
  #server: Server | undefined;
  #socketPath: string | undefined;
  #session: Session | undefined;
  #ctx: AgentContext | undefined;
  #ledger: RequestLedger | undefined;
  /** Who waits for a `request.state`: by query id, or by reference for the push after filing. */
  readonly #waiters = new Map<string, (s: RequestState) => void>();
  readonly #ticketWaitMs: number;
  readonly #askTimeoutMs: number;
  readonly #maxPerHour: number;
  /** When each uid filed, over the last hour. */
  readonly #filed = new Map<number, number[]>();

  constructor(o: RequestsOptions = {}) {
    this.#ticketWaitMs = o.ticketWaitMs ?? 10_000;
    this.#askTimeoutMs = o.askTimeoutMs ?? 15_000;
    this.#maxPerHour = o.maxPerHour ?? 20;
  }

  async start(ctx: AgentContext): Promise<void> {
    this.#ctx = ctx;
    if (process.platform === 'win32') {
      // A named pipe with the caller's token is the Windows design (docs/0014); not built yet.
      ctx.logger.info('request channel not available on Windows yet');
      return;
    }
    this.#ledger = new RequestLedger(ctx.config.stateDir);
    const dir = requestDir(ctx.config.stateDir);
    const { socket, proofs } = channelPaths(dir);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      prepareProofDir(proofs);
      try {
        // A socket left by a previous run (never a regular file or a link someone planted: those stay and fail).
        if (lstatSync(socket).isSocket()) unlinkSync(socket);
      } catch {
        // Nothing there.
      }
      const server = createServer((s) => this.#serve(s, proofs));
      server.maxConnections = MAX_CONNECTIONS;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socket, () => {
          server.off('error', reject);
          resolve();
        });
      });
      // Every local user may connect; the proof decides who they are.
      chmodSync(socket, 0o666);
      server.on('error', (err) => ctx.logger.error({ err }, 'request channel error'));
      this.#server = server;
      this.#socketPath = socket;
      ctx.logger.info({ socket }, 'request channel listening');
    } catch (err) {
      // The agent's work does not depend on the desk: it runs on without it, saying why.
      ctx.logger.error({ err, socket }, 'request channel not started');
    }
  }

  onSession(session: Session): void {
    this.#session = session;
  }

  /** The collector's answer: the ticket of a reference (after filing, or to a query). */
  state = (msg: RequestState): void => {
    if (msg.ticket) this.#ledger?.setTicket(msg.ref, msg.ticket.id);
    const key = msg.id ?? msg.ref;
    this.#waiters.get(key)?.(msg);
  };

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (this.#socketPath) {
      try {
        unlinkSync(this.#socketPath);
      } catch {
        // Already removed.
      }
    }
  }

  /** One connection: hello with a proof name, one ask, one answer, close. */
  #serve(sock: Socket, proofs: string): void {
    const proof = newProofName();
    let buf = '';
    let done = false;
    const answer = (a: LocalAnswer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.end(`${JSON.stringify(a)}\n`);
    };
    const timer = setTimeout(
      () => answer({ ok: false, code: 'OUTPOST_E_REQUEST_PROOF', message: 'No request within the time allowed' }),
      this.#askTimeoutMs,
    );
    sock.on('error', () => clearTimeout(timer));
    sock.on('close', () => clearTimeout(timer));
    sock.write(`${JSON.stringify({ hello: 1, proof, dir: proofs } satisfies LocalAnswer)}\n`);
    sock.on('data', (chunk: Buffer) => {
      if (done) return;
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (Buffer.byteLength(buf) > MAX_LINE_BYTES)
          answer({ ok: false, code: 'OUTPOST_E_BAD_REQUEST', message: 'The request line is too long' });
        return;
      }
      const line = buf.slice(0, nl);
      sock.pause();
      this.#handle(line, proof, proofs).then(answer, (err: unknown) => answer(coded(err)));
    });
  }

  async #handle(line: string, proof: string, proofs: string): Promise<LocalAnswer> {
    // The proof first: it is removed whatever the ask turns out to be, so refused callers leave nothing behind.
    const uid = verifyProof(proofs, proof);
    let ask: LocalAsk;
    try {
      ask = localAsks.decode(line);
    } catch (err) {
      return coded(new OutpostError('OUTPOST_E_BAD_REQUEST', { message: (err as Error).message }));
    }
    const user = await userName(uid);
    return ask.op === 'file' ? this.#file(ask.text, uid, user) : this.#status(ask.ticket, uid, user);
  }

  async #file(text: string, uid: number, user: string): Promise<LocalAnswer> {
    const ctx = this.#ctx!;
    const now = ctx.clock.now();
    const recent = (this.#filed.get(uid) ?? []).filter((t) => t > now - 3_600_000);
    if (recent.length >= this.#maxPerHour)
      throw new OutpostError('OUTPOST_E_REQUEST_THROTTLED', {
        message: `${this.#maxPerHour} requests in the last hour from ${user}: call the support desk, or wait`,
      });
    recent.push(now);
    this.#filed.set(uid, recent);
    const ref = `r_${randomBytes(12).toString('base64url')}`;
    const snapshot = await takeSnapshot();
    this.#ledger!.add({ ref, uid, user, at: now, ticket: null });
    const filed = this.#wait(ref);
    await ctx.report({ type: 'request.file', time: ctx.clock.now(), ref, text, user: { name: user, uid }, snapshot });
    ctx.logger.info({ ref, user, uid }, 'request filed by a local user');
    const state = await filed;
    return { ok: true, ref, user, ticket: state?.ticket ?? null };
  }

  async #status(ticket: string, uid: number, user: string): Promise<LocalAnswer> {
    const entry = this.#ledger!.find(uid, ticket);
    if (!entry)
      throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No request ${ticket} of yours on this machine` });
    const session = this.#session;
    if (!session?.open)
      throw new OutpostError('OUTPOST_E_REQUEST_UNAVAILABLE', {
        message: 'The agent is not connected to its collector right now; try again later',
      });
    const id = randomBytes(9).toString('base64url');
    const answered = this.#wait(id);
    session.send({ type: 'request.query', id, ref: entry.ref });
    const state = await answered;
    if (!state)
      throw new OutpostError('OUTPOST_E_REQUEST_UNAVAILABLE', { message: 'The collector did not answer in time' });
    return { ok: true, ref: entry.ref, user, ticket: state.ticket };
  }

  /** Resolves with the collector's state for `key`, or undefined after the wait. */
  #wait(key: string): Promise<RequestState | undefined> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#waiters.delete(key);
        resolve(undefined);
      }, this.#ticketWaitMs);
      this.#waiters.set(key, (s) => {
        clearTimeout(t);
        this.#waiters.delete(key);
        resolve(s);
      });
    });
  }
}
