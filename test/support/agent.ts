/** Test resources for agents run as real processes (`outpost-agent`), each with its own config and state. */
import { join } from 'node:path';
import { agentBin, type Proc, spawnNode } from './collector.js';

/** Paths and environment of one agent installation in a temp directory. */
export interface AgentInstall {
  dir: string;
  configFile: string;
  stateDir: string;
  env: Record<string, string>;
}

/**
 * An agent installation rooted in `dir`. The inventory is off unless asked for: its first run costs ~0.4 s of CPU
 * per agent start, which tests of other concerns need not pay.
 */
export function agentInstall(dir: string, opts: { inventory?: boolean } = {}): AgentInstall {
  const configFile = join(dir, 'agent.json');
  const stateDir = join(dir, 'state');
  return {
    dir,
    configFile,
    stateDir,
    env: {
      OUTPOST_AGENT_CONFIG: configFile,
      OUTPOST_AGENT_STATE: stateDir,
      OUTPOST_LOG_LEVEL: 'info',
      OUTPOST_INVENTORY: opts.inventory ? 'on' : 'off',
    },
  };
}

/** Runs `outpost-agent enroll` to completion; returns its exit code and output. */
export async function enrollAgent(
  install: AgentInstall,
  server: string,
  token: string,
  fingerprint?: string,
): Promise<{ code: number | null; out: string; err: string }> {
  const args = ['enroll', '--server', server, '--token', token, '--state-dir', install.stateDir];
  if (fingerprint) args.push('--ca-fingerprint', fingerprint);
  const p = spawnNode(agentBin, args, install.env);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

/** Starts `outpost-agent run` with extra flags. */
export function runAgent(install: AgentInstall, args: string[] = []): Proc {
  return spawnNode(agentBin, ['run', ...args], install.env);
}
