/** `outpost-agent status`: the enrollment, the connection state and the outbox backlog of this machine's agent. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printCliError } from '@outpost/shared';
import { readAgentConfig } from '../config/index.js';
import type { AgentStatusFile } from '../runtime/index.js';
import type { CliGlobals } from './globals.js';
import { notEnrolledHere } from './not-enrolled.js';

/** Prints the status as lines, or as JSON with `json`. */
export function statusCommand(opts: { json: boolean }, g: CliGlobals): void {
  try {
    const config = readAgentConfig(g.config);
    let status: AgentStatusFile | undefined;
    try {
      status = JSON.parse(readFileSync(join(config.stateDir, 'status.json'), 'utf8')) as AgentStatusFile;
    } catch {
      // No status file yet: the agent never ran on this machine; reported below as "not running".
      status = undefined;
    }
    const running = status !== undefined && isAlive(status.pid) && Date.now() - status.updatedAt < 30_000;
    const summary = {
      agentId: config.agentId,
      server: config.server,
      clientId: config.clientId,
      siteId: config.siteId,
      running,
      status: status ?? null,
    };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    const lines = [
      `agent     ${config.agentId}`,
      `server    ${config.server}${config.caFingerprint ? ' (certificate pinned)' : ''}`,
      `site      ${config.siteId} (client ${config.clientId})`,
      `process   ${running ? `running, pid ${status!.pid}, version ${status!.version}` : 'not running'}`,
    ];
    if (status) {
      lines.push(`state     ${status.state} since ${new Date(status.since).toISOString()}`);
      lines.push(
        `outbox    ${status.outbox.pending} pending, ${status.outbox.acked} acknowledged, ${status.outbox.droppedTotal} dropped`,
      );
      if (status.lastError) lines.push(`last err  ${status.lastError}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (err) {
    printCliError(notEnrolledHere(err, g));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: no such process, which is exactly the question asked.
    return false;
  }
}
