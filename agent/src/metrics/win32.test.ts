import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResidentShell } from './resident.js';
import { Counters } from './sampler.js';
import { END_MARK, parseWindowsMetrics, WindowsSampler } from './win32.js';

const dir = join(import.meta.dirname, 'fixtures');
const fx = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('parseWindowsMetrics', () => {
  it('reads volumes, page file, thermal zones and processes; rates and CPU shares from the second round', () => {
    const c = new Counters();
    c.begin(0);
    const first = parseWindowsMetrics(fx('windows-round1.json'), c, 8);
    c.end();
    expect(first.problems).toEqual([]);
    expect(first.values).toEqual({
      'proc.count': 8,
      'disk.used_pct:C:': 63.98,
      'disk.used_pct:D:': 25,
      'swap.used_pct': 8.47,
      'temp.celsius:\\_TZ.THM0': 47.85,
    });
    expect(first.top.some((p) => p.pid === 0)).toBe(false);
    expect(first.top.find((p) => p.pid === 9020)).toEqual({
      pid: 9020,
      name: 'chrome',
      cpuPct: 0,
      memBytes: 412377088,
    });

    c.begin(30_000);
    const second = parseWindowsMetrics(fx('windows-round2.json'), c, 8);
    c.end();
    const eth = 'Intel[R]_Ethernet_Connection_(13)_I219-LM';
    expect(second.values).toEqual({
      'proc.count': 9,
      'disk.read_bps:PhysicalDrive0': 1_024_000,
      'disk.write_bps:PhysicalDrive0': 2_048_000,
      'disk.read_bps:PhysicalDrive1': 0,
      'disk.write_bps:PhysicalDrive1': 0,
      [`net.rx_bps:${eth}`]: 500_000,
      [`net.tx_bps:${eth}`]: 100_000,
      [`net.errors:${eth}`]: 0,
      'net.rx_bps:Intel[R]_Wi-Fi_6E_AX211_160MHz': 0,
      'net.tx_bps:Intel[R]_Wi-Fi_6E_AX211_160MHz': 0,
      'net.errors:Intel[R]_Wi-Fi_6E_AX211_160MHz': 3,
      'disk.used_pct:C:': 63.98,
      'disk.used_pct:D:': 25,
      'swap.used_pct': 8.63,
      'temp.celsius:\\_TZ.THM0': 47.85,
    });
    const cpu = Object.fromEntries(second.top.map((p) => [p.pid, p.cpuPct]));
    expect(cpu).toMatchObject({ 4: 10, 9020: 30, 3920: 5, 12000: 0, 11508: 0 });
  });

  it('output that is not the script’s gives problems, never an exception', () => {
    const c = new Counters();
    c.begin(0);
    expect(parseWindowsMetrics(null, c, 1).problems).toEqual(['powershell: the output is not a JSON object']);
    expect(parseWindowsMetrics([1, 2], c, 1).problems).toHaveLength(1);
    const err = parseWindowsMetrics({ error: 'Get-CimInstance : Access denied' }, c, 1);
    expect(err.problems).toEqual([
      'powershell: Get-CimInstance : Access denied',
      'Get-Process: no processes in the output',
    ]);
    expect(err.values).toEqual({ 'swap.used_pct': 0 });
    const odd = parseWindowsMetrics({ Processes: { Id: '42', ProcessName: 'x', CPU: 'n/a' }, Volumes: 'C:' }, c, 1);
    expect(odd.values['proc.count']).toBe(1);
  });
});

describe('WindowsSampler with a real resident helper', () => {
  // A POSIX stand-in for the PowerShell loop: one fixture per line read, then the end mark.
  const loop = (body: string): string[] => ['-c', `while read l; do ${body}; echo '${END_MARK}'; done`];

  it('keeps one helper across rounds, reports rates, and ends it on stop', async () => {
    const [one, two] = ['windows-round1.json', 'windows-round2.json'].map((f) => join(dir, f));
    const body = 'n=$((n+1)); if [ $n = 1 ]; then cat "$0"; else cat "$1"; fi';
    const s = new WindowsSampler({ cmd: 'sh', args: [...loop(body), one!, two!], timeoutMs: 5000 });
    const first = await s.sample(0);
    const second = await s.sample(30_000);
    s.stop();
    expect(first.problems).toEqual([]);
    expect(first.values['mem.used_pct']).toBeGreaterThan(0);
    expect(second.problems).toEqual([]);
    expect(second.values['disk.read_bps:PhysicalDrive0']).toBe(1_024_000);
    expect(second.values['load.1']).toBeUndefined();
  });

  it('a helper that is missing, prints garbage, hangs or dies: problems, and the next round starts a new one', async () => {
    const missing = new WindowsSampler({ cmd: '/nonexistent/powershell.exe', args: [] });
    const r = await missing.sample(0);
    expect(r.problems[0]).toContain('/nonexistent/powershell.exe');
    expect(r.values['uptime.seconds']).toBeGreaterThan(0);
    missing.stop();

    const garbage = new WindowsSampler({ cmd: 'sh', args: loop("echo 'The term Get-CimInstance is not recognized'") });
    expect((await garbage.sample(0)).problems[0]).toContain('not JSON');
    garbage.stop();

    const shell = new ResidentShell({
      cmd: 'sh',
      args: ['-c', 'read l; exec sleep 5'],
      endMark: END_MARK,
      timeoutMs: 150,
    });
    await expect(shell.request()).rejects.toThrow(/no answer within 150 ms/);
    expect(shell.pid).toBeUndefined(); // killed, to be started again
    const dying = new ResidentShell({ cmd: 'sh', args: ['-c', 'read l; exit 3'], endMark: END_MARK, timeoutMs: 5000 });
    await expect(dying.request()).rejects.toThrow(/exited \(code 3\)/);
    const again = dying.request();
    const pid = dying.pid!;
    await expect(again).rejects.toThrow(/exited/);
    expect(pid).toBeGreaterThan(0);
    dying.stop();
  });

  it('stop ends the helper process', async () => {
    const shell = new ResidentShell({ cmd: 'sh', args: loop('echo {}'), endMark: END_MARK, timeoutMs: 5000 });
    expect(await shell.request()).toBe('{}\n');
    const pid = shell.pid!;
    expect(alive(pid)).toBe(true);
    shell.stop();
    await expect(shell.request()).rejects.toThrow(/stopped/);
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 10));
    expect(alive(pid)).toBe(false);
  });
});
