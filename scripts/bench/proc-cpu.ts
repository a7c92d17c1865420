/**
 * CPU time of a process from `/proc/<pid>/stat`, so a bench can tell a slow phase of a busy collector (its CPU time
 * per operation) from one of a starved collector (little CPU time, the rest of the machine holding the cores).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks of user plus system time in a `/proc/<pid>/stat` line (fields 14 and 15, counted after the name). */
export function statTicks(statText: string): number {
  // The name (field 2) is in parentheses and may hold spaces or ')': the fields that follow start after the last ')'.
  const after = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  const utime = Number(after[11]);
  const stime = Number(after[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error('not a /proc/<pid>/stat line');
  return utime + stime;
}

let clkTck: number | undefined;
/** The kernel's clock ticks per second (`getconf CLK_TCK`), read once. */
function ticksPerSecond(): number {
  if (clkTck) return clkTck;
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const hz = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(hz) || hz <= 0) throw new Error(`getconf CLK_TCK failed: ${r.stderr}`);
  clkTck = hz;
  return hz;
}

/** CPU seconds (user + system) process `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  return statTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / ticksPerSecond();
}
