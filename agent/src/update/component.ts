/**
 * The update component: answers `update.assign` (verify → decide → stage → pre-flight → swap → restart), marks
 * the new version healthy at its first authenticated hello, counts its starts for the watcher, and reports every
 * refusal and outcome through the durable outbox (so a report survives the restart it precedes).
 */
import { rmSync } from 'node:fs';
import { currentPlatform, OutpostError, type UpdateAssign, type UpdatePhase } from '@outpost/shared';
import type { AgentComponent, AgentContext } from '../runtime/commands.js';
import { AGENT_VERSION } from '../version.js';
import { decideUpdate } from './decide.js';
import { CollectorFetcher } from './fetch.js';
import { currentVersion, installRootOf, versionDir, versionExecutable } from './layout.js';
import { preflight, stageRelease } from './stage.js';
import {
  clearMarker,
  clearOutcome,
  markHandled,
  readHighest,
  readMarker,
  readOutcome,
  recordRun,
  updateStatePaths,
  wasHandled,
  writeMarker,
  writeOutcome,
} from './state.js';
import { agentCommand, DEFAULT_HEALTH_DEADLINE_MS, DEFAULT_MAX_STARTS, spawnWatcher, swapTo } from './swap.js';
import { loadTrustedRoot, verifyRelease } from './verify.js';

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone.
    return false;
  }
}

/** Self-update for one runtime. */
export class UpdateComponent implements AgentComponent {
  readonly name = 'update';
  #ctx: AgentContext | undefined;
  #busy = false;
  readonly #seen = new Set<string>();
  readonly #platform = currentPlatform();

  /** The install root: configured, else found from the running executable's path. */
  #root(ctx: AgentContext): string | undefined {
    return ctx.config.update?.installRoot ?? installRootOf(process.execPath);
  }

  start(ctx: AgentContext): void {
    this.#ctx = ctx;
    const { stateDir } = ctx.config;
    const m = readMarker(stateDir);
    if (!m) return;
    if (m.to === AGENT_VERSION) {
      // A start of the new version: counted, so the watcher sees a restart loop; a dead watcher is replaced.
      const next = { ...m, starts: m.starts + 1, agentPid: process.pid };
      if (!alive(m.watcherPid)) {
        const pid = spawnWatcher(stateDir, agentCommand(versionExecutable(m.installRoot, m.from, this.#platform)));
        next.watcherPid = pid;
        ctx.logger.warn({ from: m.from, to: m.to, watcherPid: pid }, 'update watcher was gone; started another');
      }
      writeMarker(stateDir, next);
      ctx.logger.info({ from: m.from, to: m.to, starts: next.starts }, 'running a new version under watch');
    } else if (m.from === AGENT_VERSION && !alive(m.watcherPid)) {
      // Still the old version and nobody watching: the swap was interrupted (crash before the flip or the watcher
      // killed). Whatever the pointer says, the process running is the old one; the update did not happen.
      const pointer = currentVersion(m.installRoot);
      writeOutcome(stateDir, {
        from: m.from,
        to: m.to,
        assignmentId: m.assignmentId,
        result: 'rolled_back',
        code: 'OUTPOST_E_UPDATE_ROLLED_BACK',
        reason: `the update to ${m.to} was interrupted before it was judged (pointer on ${pointer ?? 'nothing'})`,
        at: ctx.clock.now(),
      });
      clearMarker(stateDir);
      ctx.logger.warn({ from: m.from, to: m.to, pointer }, 'interrupted update found; staying on this version');
    }
  }

  /** At each authenticated session: a new version under watch is healthy; a pending outcome is reported. */
  onSession(): void {
    const ctx = this.#ctx;
    if (!ctx) return;
    void this.#afterHello(ctx).catch((err: unknown) => ctx.logger.error({ err }, 'update bookkeeping failed'));
  }

  async #afterHello(ctx: AgentContext): Promise<void> {
    const { stateDir } = ctx.config;
    const m = readMarker(stateDir);
    if (m && m.to === AGENT_VERSION && m.healthyAt === undefined) {
      writeMarker(stateDir, { ...m, healthyAt: ctx.clock.now() });
      await this.#report(ctx, 'healthy', m.from, m.to, m.assignmentId);
      ctx.logger.info({ from: m.from, to: m.to }, 'new version completed its authenticated hello');
    }
    // The highest version that ever reached the collector: the floor below which no update goes unless signed.
    if (!m || m.to === AGENT_VERSION) recordRun(stateDir, AGENT_VERSION);
    const outcome = readOutcome(stateDir);
    if (outcome) {
      await this.#report(
        ctx,
        outcome.result === 'healthy' ? 'healthy' : 'rolled_back',
        outcome.from,
        outcome.to,
        outcome.assignmentId,
        outcome.code,
        outcome.reason,
      );
      // In the outbox now (durable): the file's job is done.
      clearOutcome(stateDir);
    }
  }

  async #report(
    ctx: AgentContext,
    phase: UpdatePhase,
    from: string,
    to: string,
    assignmentId?: string,
    code?: string,
    reason?: string,
  ): Promise<void> {
    await ctx.report({
      type: 'update.status',
      time: ctx.clock.now(),
      phase,
      from,
      to: to.slice(0, 64),
      ...(assignmentId ? { assignmentId } : {}),
      ...(code ? { code } : {}),
      ...(reason ? { reason: reason.slice(0, 1024) } : {}),
    });
  }

  /** The `update.assign` handler. */
  readonly assign = async (msg: UpdateAssign): Promise<void> => {
    const ctx = this.#ctx;
    if (!ctx) return;
    if (msg.expiresAt < ctx.clock.now() || this.#seen.has(msg.id) || wasHandled(ctx.config.stateDir, msg.id)) return;
    this.#seen.add(msg.id);
    // Before acting: a crash or a rollback must not make the same assignment run again at the next connection.
    markHandled(ctx.config.stateDir, msg.id);
    if (msg.version === AGENT_VERSION) {
      ctx.logger.info({ version: msg.version, assignment: msg.id }, 'assigned version already running');
      return;
    }
    const log = ctx.logger.child({ assignment: msg.id, from: AGENT_VERSION, to: msg.version });
    try {
      if (this.#busy || readMarker(ctx.config.stateDir)) throw new OutpostError('OUTPOST_E_UPDATE_BUSY');
      this.#busy = true;
      await this.#install(ctx, msg, log);
    } catch (err) {
      this.#busy = false;
      const e =
        err instanceof OutpostError
          ? err
          : new OutpostError('OUTPOST_E_UPDATE_FETCH', {
              cause: err,
              message: `Update failed: ${String(err)}`.slice(0, 500),
            });
      log.warn({ err: e, code: e.code }, 'update refused');
      await this.#report(ctx, 'refused', AGENT_VERSION, msg.version, msg.id, e.code, e.message);
    }
  };

  async #install(ctx: AgentContext, msg: UpdateAssign, log: AgentContext['logger']): Promise<void> {
    const { config } = ctx;
    if (!config.updateRoot) throw new OutpostError('OUTPOST_E_UPDATE_NOT_CONFIGURED');
    const root = this.#root(ctx);
    if (!root) {
      throw new OutpostError('OUTPOST_E_UPDATE_NOT_CONFIGURED', {
        message: `This agent does not run from an install root (${process.execPath} is not <root>/versions/<v>/outpost-agent) and update.installRoot is not set`,
      });
    }
    const paths = updateStatePaths(config.stateDir);
    const fetcher = new CollectorFetcher({
      server: config.server,
      caFingerprint: config.caFingerprint,
      tmpDir: paths.downloads,
    });
    const { target, custom } = await verifyRelease({
      rootJson: loadTrustedRoot(config.updateRoot),
      tufDir: paths.tuf,
      fetcher,
      platform: this.#platform,
      version: msg.version,
    });
    const refusal = decideUpdate({
      assigned: msg.version,
      running: AGENT_VERSION,
      highest: readHighest(config.stateDir),
      platform: this.#platform,
      custom,
    });
    if (refusal) throw refusal;
    log.info({ length: target.length }, 'release verified; staging');
    const exe = await stageRelease({ root, version: msg.version, platform: this.#platform, target, fetcher });
    try {
      await preflight(exe, msg.version);
    } catch (err) {
      // A version that does not even print its version is never kept (it is not running: safe to delete).
      rmSync(versionDir(root, msg.version), { recursive: true, force: true });
      throw err;
    }
    await this.#report(ctx, 'swapped', AGENT_VERSION, msg.version, msg.id);
    const marker = swapTo({
      stateDir: config.stateDir,
      root,
      platform: this.#platform,
      from: AGENT_VERSION,
      to: msg.version,
      assignmentId: msg.id,
      healthDeadlineMs: config.update?.healthDeadlineMs ?? DEFAULT_HEALTH_DEADLINE_MS,
      maxStarts: config.update?.maxStarts ?? DEFAULT_MAX_STARTS,
    });
    log.info(
      { watcherPid: marker.watcherPid, deadline: marker.deadline },
      'pointer flipped; restarting into the new version',
    );
    ctx.restart?.(`update to ${msg.version}`);
  }

  stop(): void {
    this.#ctx = undefined;
  }
}
