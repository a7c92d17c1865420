/**
 * Simulator processes (sim-agents.ts) as the benches drive them: forked with their fleet's settings, and each
 * command's reply awaited with a deadline, so a bench never waits for ever on a dead or silent child.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './collector-process.js';

/** A simulator's answer: figures, and `missing` when a phase ended short. */
export type Reply = { ok: boolean; op?: string; error?: string; missing?: string } & Record<string, unknown>;

/** What one simulator process holds and where it dials. */
export interface SimulatorSettings {
  /** The collector's API URL (http or https; the simulator dials its WebSocket). */
  url: string;
  /** The enrollment token its agents enroll with. */
  token: string;
  count: number;
  /** The index of its first agent (hostnames `sim-<base + i>`). */
  base: number;
  /** The loopback source address it dials from ('' lets the system pick). */
  source: string;
  phaseTimeoutMs: number;
  /** Sims that reconnect by themselves and resend what was not stored, as real agents (sim-agents.ts). */
  agentLike?: boolean;
}

/** Forks one simulator process; it makes its agents' keys and then answers `ready` (await it with simulatorReply). */
export function forkSimulator(s: SimulatorSettings): ChildProcess {
  return fork(join(repoRoot, 'scripts/bench/sim-agents.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      BENCH_AGENT_URL: s.url.replace(/^http/, 'ws'),
      BENCH_TOKEN: s.token,
      BENCH_COUNT: String(s.count),
      BENCH_BASE: String(s.base),
      BENCH_SOURCE: s.source,
      BENCH_PHASE_TIMEOUT_MS: String(s.phaseTimeoutMs),
      BENCH_AGENT_LIKE: s.agentLike ? '1' : '0',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/**
 * The next message of a simulator process (after `send`, when given), or its next reply to command `op` (others
 * are left to their own waiters); rejects, naming it, when it exits, answers with an error, or stays silent past
 * `timeoutMs`.
 */
export function simulatorReply(
  c: ChildProcess,
  name: string,
  timeoutMs: number,
  send?: () => void,
  op?: string,
): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      c.off('message', onMessage);
      c.off('exit', onExit);
    };
    const onMessage = (m: Reply) => {
      if (op && m.op !== op) return;
      done();
      if (m.ok) resolve(m);
      else reject(new Error(`${name}: ${m.error}`));
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`${name} (pid ${c.pid}) exited (${code ?? signal}) before answering`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${name} (pid ${c.pid}) did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    c.on('message', onMessage);
    c.once('exit', onExit);
    send?.();
  });
}
