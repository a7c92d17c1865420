/**
 * hangUpSession, on real processes: a shell session hung up because the agent stops ends the shell and its plain
 * jobs, while a `nohup` job and a `setsid` job keep running (what a technician expects after an SSH disconnect).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hangUpSession } from './process-tree.js';

const dir = mkdtempSync(join(tmpdir(), 'outpost-hangup-'));
const leftovers: number[] = [];
afterAll(() => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill 0: read its state.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(process.platform !== 'linux')('hangUpSession (Linux: reads /proc)', () => {
  it('ends the shell and its plain job; a nohup job and a setsid job survive', async () => {
    const pids = join(dir, 'pids');
    // `detached` makes bash a session leader, as node-pty makes a remote shell.
    const shell = spawn(
      'bash',
      [
        '-c',
        `sleep 300 & echo plain=$! >> ${pids}; nohup sleep 301 >/dev/null 2>&1 & echo nohup=$! >> ${pids}; setsid sleep 302 & echo setsid=$! >> ${pids}; echo ready >> ${pids}; wait`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    const leader = shell.pid!;
    leftovers.push(leader);
    let text = '';
    for (let i = 0; i < 100 && !text.includes('ready'); i++) {
      await sleep(50);
      try {
        text = readFileSync(pids, 'utf8');
      } catch {
        // Not written yet.
      }
    }
    const pid = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(text)?.[1]);
    const [plain, nohup, setsid] = [pid('plain'), pid('nohup'), pid('setsid')];
    leftovers.push(plain, nohup, setsid);
    expect([plain, nohup, setsid].every((p) => Number.isInteger(p) && alive(p))).toBe(true);
    // `$!` is known at fork: wait until each job is `sleep` itself, past nohup's SIG_IGN and setsid's setsid() (a
    // hang-up before that, seen on a loaded machine, ends the nohup job like a plain one).
    const execd = (p: number) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep\0');
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && ![plain, nohup, setsid].every(execd); i++) await sleep(20);

    expect(hangUpSession(leader)).toBeGreaterThanOrEqual(3); // the shell, the plain job, the nohup job
    for (let i = 0; i < 40 && (alive(leader) || alive(plain)); i++) await sleep(50);
    expect({ shell: alive(leader), plain: alive(plain), nohup: alive(nohup), setsid: alive(setsid) }).toEqual({
      shell: false,
      plain: false,
      nohup: true,
      setsid: true,
    });
  });
});
