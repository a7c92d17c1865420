/** services on macOS: `launchctl list` (the jobs launchd has loaded in the agent's domain: system daemons as root). */
import type { ProbeRow } from '@outpost/shared';
import { badOutput, type ProbeContext } from './probe.js';

/** Parses `launchctl list`: `PID  Status  Label`; PID "-" is a loaded job not running, a non-zero status its last exit. */
export function parseLaunchctlList(text: string): ProbeRow<'services'>[] {
  const lines = text.split('\n');
  if (!/^PID\s+Status\s+Label/.test(lines[0] ?? '')) badOutput('services', 'not launchctl list output', text);
  const rows: ProbeRow<'services'>[] = [];
  for (const line of lines.slice(1)) {
    const [pid, status, label] = line.trim().split(/\s+/);
    if (!label) continue;
    const running = /^\d+$/.test(pid ?? '');
    rows.push({
      name: label,
      display_name: '',
      // A negative status is the signal that ended the job; SIGTERM (-15) is how launchd itself stops a job.
      state: running ? 'running' : status === '0' || status === '-15' ? 'stopped' : 'failed',
      start_mode: 'loaded',
      kind: 'launchd',
      path: '',
    });
  }
  return rows;
}

/** Collects the service rows. */
export async function collectServicesDarwin(ctx: ProbeContext): Promise<ProbeRow<'services'>[]> {
  return parseLaunchctlList(await ctx.exec('launchctl', ['list']));
}
