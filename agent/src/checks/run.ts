/**
 * Runs one check (docs/0003-detection.md) against the real thing: /proc for processes, systemctl for services, a TCP
 * connect, an HTTP(S) request (status, latency, certificate days left), the system `ping`, a DNS lookup. A check never
 * throws: every failure, including "cannot tell", is a failing result with the reason in plain words.
 */
import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CheckResult, CheckSpec } from '@outpost/shared';

type Outcome = { ok: boolean; message: string; value?: number };

const clip = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 1000);

/** Runs `spec` once; resolves within about its timeout. */
export async function runCheck(spec: CheckSpec, now: () => number = Date.now): Promise<CheckResult> {
  const time = now();
  let out: Outcome;
  try {
    out = await byKind(spec, now);
  } catch (err) {
    out = { ok: false, message: `check could not run: ${(err as Error).message}` };
  }
  return {
    checkId: spec.id,
    time,
    ok: out.ok,
    message: clip(out.message),
    ...(out.value !== undefined && Number.isFinite(out.value) ? { value: Math.round(out.value * 10) / 10 } : {}),
  };
}

function byKind(spec: CheckSpec, now: () => number): Promise<Outcome> {
  switch (spec.kind) {
    case 'process':
      return Promise.resolve(processCheck(spec.name));
    case 'service':
      return serviceCheck(spec.name, spec.timeoutMs);
    case 'tcp':
      return tcpCheck(spec.host, spec.port, spec.timeoutMs);
    case 'http':
      return httpCheck(spec.url, spec.timeoutMs, now, spec.expectStatus, spec.minTlsDays);
    case 'ping':
      return pingCheck(spec.host, spec.timeoutMs);
    case 'dns':
      return dnsCheck(spec.name, spec.timeoutMs);
  }
}

/** Processes whose name (comm) or program basename equals `name`. */
function processCheck(name: string): Outcome {
  if (process.platform !== 'linux') return { ok: false, message: 'process checks are implemented for Linux only' };
  let count = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (comm === name || argv0.split('/').pop() === name) count++;
    } catch {
      // the process ended while we looked
    }
  }
  return count > 0
    ? { ok: true, message: `${count} process(es) named ${name} running`, value: count }
    : { ok: false, message: `no process named ${name} is running`, value: 0 };
}

function run(cmd: string, args: string[], timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; error?: NodeJS.ErrnoException }>((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, windowsHide: true }, (error, stdout) => {
      const e = error as (NodeJS.ErrnoException & { code?: unknown }) | null;
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        stdout: String(stdout),
        ...(e && typeof e.code === 'string' ? { error: e } : {}),
      });
    });
  });
}

async function serviceCheck(name: string, timeoutMs: number): Promise<Outcome> {
  if (process.platform !== 'linux') return { ok: false, message: 'service checks are implemented for Linux only' };
  // `--` keeps a hostile name from being read as an option.
  const r = await run('systemctl', ['is-active', '--', name], timeoutMs);
  if (r.error?.code === 'ENOENT') return { ok: false, message: 'systemctl is not available: cannot tell' };
  const state = r.stdout.trim() || 'unknown';
  return state === 'active'
    ? { ok: true, message: `service ${name} is active` }
    : { ok: false, message: `service ${name} is ${state}` };
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect({ host, port });
    const done = (o: Outcome) => {
      socket.destroy();
      resolve(o);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, message: `${host}:${port} no answer in ${timeoutMs} ms` }));
    socket.once('connect', () => {
      const ms = performance.now() - t0;
      done({ ok: true, message: `${host}:${port} open (${ms.toFixed(0)} ms)`, value: ms });
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done({ ok: false, message: `${host}:${port} ${err.code ?? err.message}` }),
    );
  });
}

function httpCheck(
  url: string,
  timeoutMs: number,
  now: () => number,
  expect?: number,
  minTlsDays?: number,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method: 'GET', timeout: timeoutMs });
    req.once('response', (res) => {
      const ms = performance.now() - t0;
      const socket = res.socket as TLSSocket;
      let daysLeft: number | undefined;
      if (typeof socket.getPeerCertificate === 'function') {
        const validTo = Date.parse(socket.getPeerCertificate().valid_to);
        if (Number.isFinite(validTo)) daysLeft = (validTo - now()) / 86_400_000;
      }
      res.resume();
      req.destroy();
      const status = res.statusCode ?? 0;
      const statusOk = expect !== undefined ? status === expect : status >= 200 && status < 400;
      const tlsOk = minTlsDays === undefined || daysLeft === undefined || daysLeft >= minTlsDays;
      const tls = daysLeft !== undefined ? `, certificate expires in ${Math.floor(daysLeft)} days` : '';
      resolve({
        ok: statusOk && tlsOk,
        message: `HTTP ${status} in ${ms.toFixed(0)} ms${tls}${statusOk ? '' : ` (expected ${expect ?? '2xx/3xx'})`}${tlsOk ? '' : ` (fewer than ${minTlsDays} days left)`}`,
        value: ms,
      });
    });
    req.once('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `no answer in ${timeoutMs} ms` });
    });
    req.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, message: err.code ?? err.message }));
    req.end();
  });
}

async function pingCheck(host: string, timeoutMs: number): Promise<Outcome> {
  if (host.startsWith('-')) return { ok: false, message: 'invalid host' };
  const wait = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  const r = await run('ping', ['-n', '-c', '1', '-W', wait, host], timeoutMs + 1000);
  if (r.error?.code === 'ENOENT') return { ok: false, message: 'ping is not installed: cannot tell' };
  const ms = /time[=<]([\d.]+)\s*ms/.exec(r.stdout)?.[1];
  return r.code === 0
    ? { ok: true, message: `${host} answers${ms ? ` in ${ms} ms` : ''}`, ...(ms ? { value: Number(ms) } : {}) }
    : { ok: false, message: `${host} does not answer ping` };
}

async function dnsCheck(name: string, timeoutMs: number): Promise<Outcome> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const addrs = await Promise.race([lookup(name, { all: true }), timeout]);
    const ms = performance.now() - t0;
    return { ok: true, message: `${name} → ${addrs.map((a) => a.address).join(', ')}`, value: ms };
  } catch (err) {
    return {
      ok: false,
      message: `${name} does not resolve: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    };
  } finally {
    clearTimeout(timer);
  }
}
