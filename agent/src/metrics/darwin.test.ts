import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DarwinSampler,
  MARK,
  memoryUsed,
  parseDarwinRound,
  parseDf,
  parseNetstat,
  parsePs,
  parseSwapUsage,
  parseVmStat,
} from './darwin.js';
import { Counters } from './sampler.js';

const dir = join(import.meta.dirname, 'fixtures');
const fx = (name: string): string => readFileSync(join(dir, name), 'utf8');
const GiB = 1024 ** 3;

describe('macOS parsers on real captures', () => {
  it('vm_stat (Intel, 4 KiB pages): used = active + wired + compressor', () => {
    const vm = parseVmStat(fx('real-liquidprompt-vm_stat-intel.txt'))!;
    expect(vm.pageSize).toBe(4096);
    expect(vm.pages.get('Pages free')).toBe(77936);
    expect(vm.pages.get('Translation faults')).toBe(134215056);
    expect(memoryUsed(vm)).toBe((1729321 + 620324 + 35785) * 4096);
  });

  it('vm_stat (Apple silicon, 16 KiB pages, compressor empty)', () => {
    const vm = parseVmStat(fx('real-liquidprompt-vm_stat-arm64.txt'))!;
    expect(vm.pageSize).toBe(16384);
    expect(memoryUsed(vm)).toBe((1261473 + 197899) * 16384);
  });

  it('sysctl vm.swapusage', () => {
    expect(parseSwapUsage(fx('real-marslo-sysctl-memory.txt'))).toEqual({ total: 1024 * 1048576, used: 34 * 1048576 });
    expect(parseSwapUsage('vm.swapusage: total = 0.00M  used = 0.00M  free = 0.00M  (encrypted)')).toEqual({
      total: 0,
      used: 0,
    });
  });

  it('netstat: the Link row of each interface, loopback left out, columns read from the right', () => {
    const ifs = parseNetstat(fx('real-gopsutil-netstat-ibdn.txt'))!;
    expect([...ifs.keys()]).toEqual(['gif0', 'stf0', 'en0']);
    expect(ifs.get('en0')).toEqual({ rx: 7295722068, tx: 379533492, errors: 0 });
  });

  it('netstat: interfaces whose names netstat truncated to the same text are added together', () => {
    const ifs = parseNetstat(fx('real-gopsutil-netstat-ibdn-truncated.txt'))!;
    expect(ifs.get('utun8')).toEqual({ rx: 27175 + 29554 + 29244 + 28267 + 28593, tx: 0, errors: 0 });
  });
});

describe('macOS parsers on written fixtures', () => {
  it('ps: executable names from paths with spaces, RSS in KiB', () => {
    const ps = parsePs(fx('ps-axo.txt'));
    expect(ps).toHaveLength(10);
    expect(ps[4]).toEqual({ pid: 611, name: 'Google Chrome', cpuPct: 12.3, memBytes: 402112 * 1024 });
    expect(ps[5]!.name).toBe('Google Chrome Helper (Renderer)');
    expect(ps[6]).toEqual({ pid: 702, name: 'Xcode', cpuPct: 101.2, memBytes: 1048576 * 1024 });
    expect(ps.slice(7, 10).map((p) => p.name)).toEqual(['-zsh', 'cron', '(sh)']);
  });

  it('df -kl: / and other volumes, not the APFS system volumes or devfs', () => {
    const df = parseDf(fx('df-kl.txt'))!;
    expect([...df.entries()]).toEqual([
      ['/', 56.02],
      ['/Volumes/Backup Drive', 72.43],
    ]);
  });

  it('rejects what is not the tool’s output', () => {
    for (const junk of ['', 'sh: vm_stat: command not found', 'Name\n', '{"x":1}']) {
      expect(parseVmStat(junk)).toBeNull();
      expect(parseSwapUsage(junk)).toBeNull();
      expect(parseNetstat(junk)).toBeNull();
      expect(parseDf(junk)).toBeNull();
      expect(parsePs(junk)).toEqual([]);
    }
  });
});

const sections = (netstat: string): string =>
  [
    fx('ps-axo.txt'),
    fx('real-liquidprompt-vm_stat-intel.txt'),
    fx('real-marslo-sysctl-memory.txt'),
    netstat,
    fx('df-kl.txt'),
  ].join(`${MARK}\n`);

describe('a macOS round', () => {
  it('reads every section, and rates from the second round', () => {
    const counters = new Counters();
    const netstat = fx('real-gopsutil-netstat-ibdn.txt');
    counters.begin(1_000);
    const first = parseDarwinRound(sections(netstat), 16 * GiB, counters);
    counters.end();
    expect(first.problems).toEqual([]);
    expect(first.values).toEqual({
      'proc.count': 10,
      'mem.used_bytes': 9770721280,
      'mem.used_pct': 56.87,
      'swap.used_pct': 3.32,
      'disk.used_pct:/': 56.02,
      'disk.used_pct:/Volumes/Backup Drive': 72.43,
    });
    expect(first.top[0]).toMatchObject({ pid: 702, name: 'Xcode' });
    // 10 s later en0 received 1 MB more, sent 50 kB more and counted 2 input errors.
    const later = netstat
      .replace(
        'a8:66:7f:dd:ee:ff  5708989     0 7295722068  3494252     0  379533492',
        'a8:66:7f:dd:ee:ff  5709989     2 7296722068  3494752     0  379583492',
      )
      .replaceAll(' 7295722068 ', ' 7296722068 ');
    counters.begin(11_000);
    const second = parseDarwinRound(sections(later), 16 * GiB, counters);
    counters.end();
    expect(second.values['net.rx_bps:en0']).toBe(100_000);
    expect(second.values['net.tx_bps:en0']).toBe(5_000);
    expect(second.values['net.errors:en0']).toBe(2);
    expect(second.values['net.rx_bps:gif0']).toBeUndefined(); // never used: no series
  });

  it('a missing tool or unreadable section loses only its metrics, with a problem naming the tool', () => {
    const counters = new Counters();
    counters.begin(0);
    const out = [fx('ps-axo.txt'), 'garbage', '', fx('real-gopsutil-netstat-ibdn.txt')].join(`${MARK}\n`); // df cut off
    const r = parseDarwinRound(out, 16 * GiB, counters);
    expect(r.values['proc.count']).toBe(10);
    expect(r.values['mem.used_pct']).toBeUndefined();
    expect(r.problems.map((p) => p.split(':')[0])).toEqual(['vm_stat', 'sysctl vm.swapusage', 'df -kl']);
  });
});

describe('DarwinSampler through a real /bin/sh', () => {
  const cat = (f: string): string => `cat '${join(dir, f)}'`;

  it('runs the script once per round and reads its sections', async () => {
    const script = [
      cat('ps-axo.txt'),
      cat('real-liquidprompt-vm_stat-arm64.txt'),
      cat('real-marslo-sysctl-memory.txt'),
      cat('real-gopsutil-netstat-ibdn.txt'),
      cat('df-kl.txt'),
    ].join(`; echo ${MARK}; `);
    const s = new DarwinSampler({ script });
    await s.sample(Date.now());
    const r = await s.sample(Date.now() + 1000);
    expect(r.problems).toEqual([]);
    expect(r.values['proc.count']).toBe(10);
    expect(r.values['mem.used_bytes']).toBe((1261473 + 197899) * 16384);
    expect(r.values['load.1']).toBeGreaterThanOrEqual(0); // cpu.* may be absent: too little time passed between the two reads
    expect(r.values['uptime.seconds']).toBeGreaterThan(0);
    expect(r.values['disk.used_pct:/']).toBe(56.02);
  });

  it('tools that fail, print errors or time out never throw: the round keeps what Node gave', async () => {
    const missing = new DarwinSampler({ script: `no-such-tool-outpost; echo ${MARK}; echo 'vm_stat: error'; exit 0` });
    const r = await missing.sample(Date.now());
    expect(r.values['uptime.seconds']).toBeGreaterThan(0);
    expect(r.values['load.1']).toBeGreaterThanOrEqual(0);
    expect(r.problems).toHaveLength(5);
    const noShell = new DarwinSampler({ shell: '/nonexistent/sh' });
    const r2 = await noShell.sample(Date.now());
    expect(r2.problems).toHaveLength(1);
    expect(r2.problems[0]).toContain('/nonexistent/sh');
    const slow = new DarwinSampler({ script: 'exec sleep 5', timeoutMs: 150 });
    const r3 = await slow.sample(Date.now());
    expect(r3.problems).toHaveLength(1);
    expect(r3.values['uptime.seconds']).toBeGreaterThan(0);
  });
});
