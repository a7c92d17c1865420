/**
 * What a probe is (docs/0002-inventory.md): a snake_case name, a description, the row schema from @outpost/shared
 * (which describes every column), the platforms it runs on, and one `collect()` per platform in suffixed files.
 * The registry picks the platform implementation once; probes never switch on `process.platform` themselves.
 */
import { OutpostError, type ProbeName, type ProbeRow } from '@outpost/shared';

/** A platform a probe may run on. */
export type Platform = 'linux' | 'win32' | 'darwin';

/** Options that change where probes read from (tests point apt at a fixture repository, for instance). */
export interface InventoryOptions {
  /** Extra `-o Key=Value` options for every apt command, e.g. `Dir::State::status=/tmp/status`. */
  aptOptions: string[];
  /** Directory the reboot-required flag is read under (`/` unless a test points it at a fixture root). */
  rootDir?: string | undefined;
  /** Per-command timeout. */
  commandTimeoutMs: number;
  /** Where probes may cache expensive answers under a fingerprint of their inputs (the state dir); none: no cache. */
  cacheDir?: string | undefined;
}

/** The default probe options. */
export const defaultInventoryOptions: InventoryOptions = { aptOptions: [], commandTimeoutMs: 60_000 };

/** What a probe may use: commands and files of the OS (a test fakes neither; parsers are tested on fixtures). */
export interface ProbeContext {
  /** Runs a command (no shell) and returns its stdout; OUTPOST_E_PROBE_FAILED when it cannot run or fails. */
  exec(cmd: string, args: string[], opts?: { okCodes?: number[]; env?: Record<string, string> }): Promise<string>;
  /** Reads a text file; undefined when it does not exist or cannot be read. */
  readText(path: string): Promise<string | undefined>;
  /** True when the command is on PATH. */
  has(cmd: string): Promise<boolean>;
  options: InventoryOptions;
  now(): number;
}

/** One platform implementation of a probe. */
export type Collect<P extends ProbeName> = (ctx: ProbeContext) => Promise<ProbeRow<P>[]>;

/** A probe declaration. */
export interface Probe<P extends ProbeName = ProbeName> {
  name: P;
  description: string;
  /** How often the scheduler runs it (jittered ±20 %). */
  intervalMs: number;
  collect: Partial<Record<Platform, Collect<P>>>;
}

/** Declares a probe (typed by its name, so its rows must match its schema). */
export function defineProbe<P extends ProbeName>(p: Probe<P>): Probe<P> {
  return p;
}

/** Throws the coded parse error every parser uses for output it cannot read. */
export function badOutput(probe: ProbeName, what: string, sample?: string): never {
  throw new OutpostError('OUTPOST_E_PROBE_OUTPUT', {
    message: `${probe}: ${what}`,
    details: { probe, sample: sample?.slice(0, 200) ?? '' },
  });
}

/** Parses JSON output of a command, or throws OUTPOST_E_PROBE_OUTPUT (empty output included). */
export function parseJsonOutput(probe: ProbeName, text: string): unknown {
  const t = text.trim();
  if (!t) badOutput(probe, 'the command printed nothing');
  try {
    return JSON.parse(t);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_PROBE_OUTPUT', {
      cause,
      message: `${probe}: output is not valid JSON (${(cause as Error).message})`,
      details: { probe, sample: t.slice(0, 200) },
    });
  }
}

/** A value from a parsed JSON object as a string ('' when absent). */
export const str = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v));
/**
 * What firmware and system tools print where a hardware value is not known: SMBIOS "Not Specified"/"Unknown", BIOS
 * templates ("SerNum0", "PartNum1", "Manufacturer0"), system_profiler's "-" and "0x0000", WMI's "00000000".
 */
const UNKNOWN_HARDWARE_VALUE =
  /^(-*|n\/?a|none|null|unknown|undefined|not specified|not available|not provided|\[?empty\]?|no dimm|0x0*|0+|(sernum|partnum|manufacturer|assettagnum|module(part|serial)number)\d*)$/i;
/** A hardware value trimmed, or '' when it is one of the placeholders above (so "unknown" never differs from "unknown"). */
export const knownOrEmpty = (v: unknown): string => {
  const s = str(v).trim();
  return UNKNOWN_HARDWARE_VALUE.test(s) ? '' : s;
};
/** A value as a non-negative integer, or null. */
export const intOrNull = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? Math.trunc(n) : null;
};
/** A date string (or epoch) as epoch ms, or null. */
export const timeOrNull = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.trunc(v);
  if (typeof v !== 'string' || !v.trim()) return null;
  // CIM/.NET JSON dates: "/Date(1700000000000)/"
  const dotnet = /\/Date\((\d+)\)\//.exec(v);
  if (dotnet) return Number(dotnet[1]);
  // yyyymmdd (Windows InstallDate)
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(v.trim());
  const t = compact ? Date.UTC(Number(compact[1]), Number(compact[2]) - 1, Number(compact[3])) : Date.parse(v);
  return Number.isFinite(t) && t > 0 ? t : null;
};

/** One hour in milliseconds (probe intervals). */
export const HOUR = 3_600_000;
