/**
 * Metrics on Windows. CPU, memory (GlobalMemoryStatusEx through `os.freemem`, whose "available" is the counterpart
 * of Linux's MemAvailable) and uptime come from Node (`os`); processes, disk and network counters, volumes, the page
 * file and thermal zones from one PowerShell script per round that prints JSON (`WINDOWS_METRICS_PS`).
 *
 * The script runs in one PowerShell process that stays up and is fed one line per round (`ResidentShell`), not in a
 * fresh `powershell.exe` per round. Why: starting Windows PowerShell 5.1 and loading the CIM cmdlets costs about
 * half a second to a second of CPU on a typical workstation (figure from the inventory probes' runs, not measured
 * for this script), and every start is a process-creation event (and, where script-block logging is on, an event
 * log entry) in the customer's EDR — at one round every 30–60 s that is ~2,000 a day per machine. A resident
 * process costs its working set instead (tens of MB) and one CIM query round per sample. It is restarted on the
 * next round if it dies or a round times out.
 *
 * Not available on Windows: load.1/5/15 (Windows has no load average; `os.loadavg()` returns zeros, which would
 * read as an idle machine). temp.celsius is reported only where the firmware exposes ACPI thermal zones.
 */
import { cpus, freemem, totalmem, uptime } from 'node:os';
import type { TopProcess } from '@outpost/shared';
import { asArray } from '../inventory/windows.js';
import { PortableCpu } from './cpu.js';
import { ResidentShell } from './resident.js';
import { Counters, instanceName, type Round, round2, type Sampler, topOf } from './sampler.js';

/** The body run once per round; it prints one compact JSON object (see `parseWindowsMetrics`). */
export const WINDOWS_METRICS_PS = [
  '$p=@(Get-Process | Select-Object Id,ProcessName,CPU,WorkingSet64)',
  '$d=@(Get-CimInstance Win32_PerfRawData_PerfDisk_PhysicalDisk | Select-Object Name,DiskReadBytesPersec,DiskWriteBytesPersec)',
  '$n=@(Get-CimInstance Win32_PerfRawData_Tcpip_NetworkInterface | Select-Object Name,BytesReceivedPersec,BytesSentPersec,PacketsReceivedErrors,PacketsOutboundErrors)',
  "$v=@(Get-CimInstance Win32_LogicalDisk -Filter 'DriveType=3' | Select-Object DeviceID,Size,FreeSpace)",
  '$s=@(Get-CimInstance Win32_PageFileUsage | Select-Object AllocatedBaseSize,CurrentUsage)',
  '$t=@(Get-CimInstance Win32_PerfRawData_Counters_ThermalZoneInformation -ErrorAction SilentlyContinue | Select-Object Name,Temperature)',
  '[pscustomobject]@{Processes=$p;Disks=$d;Net=$n;Volumes=$v;PageFiles=$s;Thermal=$t} | ConvertTo-Json -Depth 3 -Compress',
].join('; ');

/** The line the resident PowerShell prints after each round's output. */
export const END_MARK = '@@outpost-metrics-end@@';

/**
 * The resident PowerShell's own script: read a line, run the body, print its JSON (or the error as JSON), then the
 * end mark. It ends when stdin closes, i.e. when the agent stops or dies.
 */
export const WINDOWS_LOOP_PS = [
  "$ProgressPreference='SilentlyContinue'",
  '[Console]::OutputEncoding=[Text.Encoding]::UTF8',
  // $(…), not (…): the body is several statements.
  `while ($null -ne [Console]::In.ReadLine()) { try { $j = $(${WINDOWS_METRICS_PS}) } catch { $j = (@{error=[string]$_} | ConvertTo-Json -Compress) }; [Console]::Out.WriteLine($j); [Console]::Out.WriteLine('${END_MARK}'); [Console]::Out.Flush() }`,
].join('; ');

/** The command line of the resident PowerShell. */
export const WINDOWS_SHELL = {
  cmd: 'powershell.exe',
  args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', WINDOWS_LOOP_PS],
};

type Obj = Record<string, unknown>;
/** A number as ConvertTo-Json prints it (number, or a numeric string for some UInt64 values), or NaN. */
const num = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** What the script printed, read; problems name what was missing. The counters give rates from the second round. */
export function parseWindowsMetrics(json: unknown, counters: Counters, ncpu: number): Round {
  const values: Record<string, number> = {};
  const problems: string[] = [];
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { values, top: [], problems: ['powershell: the output is not a JSON object'] };
  }
  const o = json as Obj;
  if (typeof o.error === 'string') problems.push(`powershell: ${o.error.slice(0, 300)}`);

  const procs: TopProcess[] = [];
  const dt = counters.seconds;
  for (const p of asArray(o.Processes)) {
    const pid = num(p.Id);
    // The Idle "process" (pid 0) is the idle time of every core; it would top every CPU list.
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const cpuSec = num(p.CPU);
    const used = Number.isFinite(cpuSec) ? counters.delta(`proc:${pid}`, cpuSec) : undefined;
    const mem = num(p.WorkingSet64);
    procs.push({
      pid,
      name: (text(p.ProcessName) || '?').slice(0, 128),
      cpuPct: used !== undefined && dt > 0 ? round2(Math.min((100 * used) / dt, 100 * ncpu)) : 0,
      memBytes: Number.isFinite(mem) && mem > 0 ? mem : 0,
    });
  }
  if (procs.length > 0) values['proc.count'] = procs.length;
  else problems.push('Get-Process: no processes in the output');

  for (const d of asArray(o.Disks)) {
    const m = /^(\d+)\b/.exec(text(d.Name)); // "0 C:" → PhysicalDrive0; "_Total" is left out
    if (!m) continue;
    const n = `PhysicalDrive${m[1]}`;
    const r = counters.rate(`disk.r:${n}`, num(d.DiskReadBytesPersec));
    const w = counters.rate(`disk.w:${n}`, num(d.DiskWriteBytesPersec));
    if (r !== undefined) values[`disk.read_bps:${n}`] = round2(r);
    if (w !== undefined) values[`disk.write_bps:${n}`] = round2(w);
  }

  for (const i of asArray(o.Net)) {
    const rxTotal = num(i.BytesReceivedPersec);
    const txTotal = num(i.BytesSentPersec);
    // Never-used adapters (isatap, Teredo, disconnected Wi-Fi Direct) are not worth a series each.
    if (!(rxTotal > 0 || txTotal > 0)) continue;
    const n = instanceName(text(i.Name));
    const rx = counters.rate(`net.rx:${n}`, rxTotal);
    const tx = counters.rate(`net.tx:${n}`, txTotal);
    const err = counters.delta(`net.err:${n}`, num(i.PacketsReceivedErrors) + num(i.PacketsOutboundErrors));
    if (rx !== undefined) values[`net.rx_bps:${n}`] = round2(rx);
    if (tx !== undefined) values[`net.tx_bps:${n}`] = round2(tx);
    if (err !== undefined) values[`net.errors:${n}`] = err;
  }

  for (const v of asArray(o.Volumes)) {
    const id = text(v.DeviceID);
    const size = num(v.Size);
    const free = num(v.FreeSpace);
    if (/^[A-Z]:$/i.test(id) && size > 0 && free >= 0)
      values[`disk.used_pct:${id}`] = round2((100 * (size - free)) / size);
  }

  const pages = asArray(o.PageFiles);
  if (pages.length > 0) {
    const alloc = pages.reduce((a, p) => a + (num(p.AllocatedBaseSize) || 0), 0);
    const used = pages.reduce((a, p) => a + (num(p.CurrentUsage) || 0), 0);
    values['swap.used_pct'] = alloc > 0 ? round2((100 * used) / alloc) : 0;
  } else values['swap.used_pct'] = 0; // no page file configured

  for (const t of asArray(o.Thermal)) {
    const kelvin = num(t.Temperature);
    // Firmware that does not fill the zone reports 0 K; anything under 0 °C is not a reading either.
    if (kelvin > 273.15) values[`temp.celsius:${instanceName(text(t.Name))}`] = round2(kelvin - 273.15);
  }
  return { values, top: topOf(procs), problems };
}

/** Options of the Windows sampler (tests run another resident command through the same path). */
export interface WindowsSamplerOptions {
  cmd: string;
  args: string[];
  timeoutMs: number;
}

/** The Windows sampler. `stop()` ends the resident PowerShell. */
export class WindowsSampler implements Sampler {
  readonly #cpu = new PortableCpu();
  readonly #counters = new Counters();
  readonly #shell: ResidentShell;

  constructor(opts: Partial<WindowsSamplerOptions> = {}) {
    const o = { ...WINDOWS_SHELL, timeoutMs: 20_000, ...opts };
    this.#shell = new ResidentShell({ cmd: o.cmd, args: o.args, endMark: END_MARK, timeoutMs: o.timeoutMs });
  }

  async sample(now: number): Promise<Round> {
    const cpu = this.#cpu.sample();
    const total = totalmem();
    const avail = freemem();
    const base: Record<string, number> = { ...cpu };
    if (total > 0) {
      base['mem.used_bytes'] = total - avail;
      base['mem.used_pct'] = round2((100 * (total - avail)) / total);
    }
    let r: Round = { values: {}, top: [], problems: [] };
    try {
      const out = await this.#shell.request();
      let json: unknown;
      try {
        json = JSON.parse(out.trim());
      } catch {
        throw new Error(`output is not JSON (${JSON.stringify(out.trim().slice(0, 80))})`);
      }
      this.#counters.begin(now);
      r = parseWindowsMetrics(json, this.#counters, Math.max(1, cpus().length));
      this.#counters.end();
    } catch (err) {
      r.problems.push(`powershell: ${err instanceof Error ? err.message : String(err)}`);
    }
    return {
      values: { ...base, ...r.values, 'uptime.seconds': Math.round(uptime()) },
      top: r.top,
      problems: r.problems,
    };
  }

  stop(): void {
    this.#shell.stop();
  }
}
