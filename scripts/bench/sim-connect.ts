/**
 * How the agents bench's simulators connect, apart from the sockets so it can be tested: the loopback source address
 * each simulator process dials from, the ephemeral ports one address has, and the tally of a connection phase (what
 * connected, what failed with which code, and the message that names what is missing when a phase ends short).
 */

/** The first loopback source address the simulators use; 127.0.0.1 stays with everything else on the machine. */
const FIRST_HOST = 2;
const LAST_HOST = 254;

/**
 * The source address of simulator process `index`: 127.0.0.2, 127.0.0.3, … Every address of 127.0.0.0/8 is local on
 * Linux (no set-up), and each has its own ephemeral ports towards the collector's one port, so a fleet's sockets (and
 * the TIME_WAIT a mass reconnect leaves behind) do not share the ~28,000 ports of a single source address.
 */
export function sourceAddress(index: number): string {
  if (!Number.isInteger(index) || index < 0 || FIRST_HOST + index > LAST_HOST)
    throw new RangeError(`simulator ${index}: only ${LAST_HOST - FIRST_HOST + 1} loopback source addresses`);
  return `127.0.0.${FIRST_HOST + index}`;
}

/** How many ephemeral ports one source address has, from `/proc/sys/net/ipv4/ip_local_port_range` ("32768\t60999"). */
export function ephemeralPorts(rangeText: string): number {
  const [low, high] = rangeText.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(low) || !Number.isInteger(high) || high! < low!)
    throw new RangeError(`not a port range: ${JSON.stringify(rangeText)}`);
  return high! - low! + 1;
}

/** The open-files limits of a process (the collector reads its own the same way: agents/capacity.ts). */
export { openFilesLimit } from '../../collector/src/agents/capacity.js';

/** Why one socket did not complete its handshake: a socket error's code, a close code, or a timeout. */
export interface ConnectFailure {
  code: string;
  detail: string;
}

/** A socket error as a failure: its errno code (EADDRNOTAVAIL, ECONNRESET, EMFILE…) when it has one. */
export function failureOfError(err: Error & { code?: unknown }): ConnectFailure {
  return { code: typeof err.code === 'string' ? err.code : 'error', detail: err.message };
}

/** The outcome of one connection phase of one simulator process. */
export class ConnectTally {
  connected = 0;
  readonly #codes = new Map<string, number>();
  #last: ConnectFailure | undefined;

  /** Counts one socket that could not complete its handshake. */
  fail(f: ConnectFailure): void {
    this.#codes.set(f.code, (this.#codes.get(f.code) ?? 0) + 1);
    this.#last = f;
  }

  get failed(): number {
    let n = 0;
    for (const c of this.#codes.values()) n += c;
    return n;
  }

  /** Failures per code, most frequent first ("EADDRNOTAVAIL ×80, close 1013 ×8"). */
  codes(): string {
    return [...this.#codes]
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ×${n}`)
      .join(', ');
  }

  /** The last failure's code and message ("" when none failed). */
  lastError(): string {
    return this.#last ? `${this.#last.code}: ${this.#last.detail}` : '';
  }

  /** What the phase left undone: "3,912 of 4,000 connected (88 failed: …; last …; 0 not tried)", or "" when none. */
  shortfall(total: number): string {
    if (this.connected >= total) return '';
    const tried = this.connected + this.failed;
    const parts = [`${fmt(this.connected)} of ${fmt(total)} connected`];
    if (this.failed) parts.push(`${fmt(this.failed)} failed (${this.codes()}), last ${this.lastError()}`);
    if (tried < total) parts.push(`${fmt(total - tried)} not tried before the phase deadline`);
    return parts.join('; ');
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');
