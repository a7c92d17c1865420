/**
 * Killing a session's whole process tree. node-pty starts the shell as a session leader (setsid), but an
 * interactive shell puts each background job in its own process group, and a job may even start its own session
 * (`setsid`), so killing the shell's group is not enough. On Linux we read /proc: every process of the shell's
 * session, plus every descendant of those (snapshotted before killing, while the parent links still exist).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One row of the process table: pid, parent, session. */
export interface ProcRow {
  pid: number;
  ppid: number;
  sid: number;
  /** One-letter state; Z is a zombie (dead, waiting for its parent to reap it). */
  state: string;
}

/** Parses /proc/<pid>/stat (the command name may contain spaces and parentheses). */
export function parseStat(text: string): ProcRow | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  const rest = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // After the name: state ppid pgrp session …
  const ppid = Number(rest[1]);
  const sid = Number(rest[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !Number.isInteger(sid)) return undefined;
  return { pid, ppid, sid, state: rest[0] ?? '?' };
}

/** Reads the process table from /proc (empty when there is no /proc). */
export function readProcTable(procDir = '/proc'): ProcRow[] {
  let names: string[];
  try {
    names = readdirSync(procDir);
  } catch {
    return [];
  }
  const rows: ProcRow[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const row = parseStat(readFileSync(`${procDir}/${name}/stat`, 'utf8'));
      if (row) rows.push(row);
    } catch {
      // The process exited between readdir and read: nothing to kill.
    }
  }
  return rows;
}

/** The pids of the tree rooted at a session leader: its session's members and all their descendants. */
export function sessionTree(rows: readonly ProcRow[], leader: number): number[] {
  const found = new Set<number>();
  const live = rows.filter((r) => r.state !== 'Z');
  for (const r of live) if (r.pid === leader || r.sid === leader) found.add(r.pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of live) {
      if (!found.has(r.pid) && found.has(r.ppid)) {
        found.add(r.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** Pids whose environment carries `marker` (e.g. `OUTPOST_SESSION=ss_…`): catches jobs that left the session. */
export function pidsWithEnv(rows: readonly ProcRow[], marker: string, procDir = '/proc'): number[] {
  const needle = Buffer.from(`\0${marker}\0`);
  const first = Buffer.from(`${marker}\0`);
  const out: number[] = [];
  for (const r of rows) {
    if (r.state === 'Z' || r.pid === process.pid) continue;
    try {
      const env = readFileSync(`${procDir}/${r.pid}/environ`);
      if (env.includes(needle) || env.subarray(0, first.length).equals(first)) out.push(r.pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return out;
}

/**
 * Kills the whole tree of a session leader with SIGKILL, sweeping again until nothing of it is left. With an
 * environment marker, processes that escaped the session and lost their parent (`setsid cmd &`) are found too.
 */
export function killSessionTree(leader: number, signalFirst: NodeJS.Signals = 'SIGHUP', envMarker?: string): number {
  let killed = 0;
  try {
    process.kill(-leader, signalFirst);
  } catch {
    // The group is gone already.
  }
  for (let sweep = 0; sweep < 5; sweep++) {
    let pids = [leader];
    if (process.platform === 'linux') {
      const rows = readProcTable();
      pids = sessionTree(rows, leader);
      if (envMarker) pids = [...new Set([...pids, ...pidsWithEnv(rows, envMarker)])];
    }
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // Exited meanwhile.
      }
    }
    if (process.platform !== 'linux') {
      try {
        process.kill(-leader, 'SIGKILL');
      } catch {
        // No such group.
      }
      break;
    }
  }
  return killed;
}

/**
 * Hangs up a session the way a closed terminal does, for the agent stopping (a service restart, a self-update, an
 * uninstall) rather than the technician leaving: SIGHUP to every process still in the shell's session, then SIGKILL
 * to the shell itself. What ignores SIGHUP (`nohup job &`) or left the session (`setsid job`, a daemon) keeps
 * running, as after an SSH disconnect: a technician's `nohup apt-get upgrade &` must not die because it restarted
 * the agent. Returns how many processes were signalled. docs/0007-shell.md, docs/0009-packaging.md.
 */
export function hangUpSession(leader: number): number {
  let signalled = 0;
  if (process.platform === 'linux') {
    for (const r of readProcTable()) {
      if (r.state === 'Z' || (r.pid !== leader && r.sid !== leader)) continue;
      try {
        process.kill(r.pid, 'SIGHUP');
        signalled++;
      } catch {
        // Exited meanwhile.
      }
    }
  } else {
    try {
      process.kill(-leader, 'SIGHUP');
      signalled++;
    } catch {
      // The group is gone already.
    }
  }
  try {
    process.kill(leader, 'SIGKILL');
  } catch {
    // The shell ended on the hangup.
  }
  return signalled;
}
