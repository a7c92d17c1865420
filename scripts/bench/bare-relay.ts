/**
 * The floor under `bench:shell`: Outpost's process layout (a client process ⇄ a relay process ⇄ a PTY process that
 * dials out to the relay) carrying nothing but bytes: no authentication, tickets, channels, credit or recording.
 * The benchmark drives it like `outpost shell` and `ssh -tt`, so its row shows what the layout alone costs on this
 * machine and what Outpost's own code adds on top.
 *
 * Modes: `tcp` forwards on plain sockets (Nagle off); `wss` sends each read as one binary WebSocket message over TLS,
 * with the `ws` options Outpost's sockets use.
 *
 * Roles (each its own process): `relay <mode> <tlsDir>` prints its port; `pty <mode> <port>`; `client <mode> <port>`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { channelSocketOptions } from '@outpost/shared';
import WebSocket, { WebSocketServer } from 'ws';
import { spawnInTerminal } from '../../test/support/terminal.js';

export type BareMode = 'tcp' | 'wss';

/** One end of the byte stream, whatever carries it. */
interface Pipe {
  send(d: Buffer): void;
  onData(fn: (d: Buffer) => void): void;
}

function socketPipe(s: Socket): Pipe {
  s.setNoDelay(true);
  return { send: (d) => s.write(d), onData: (fn) => s.on('data', fn) };
}

function wsPipe(ws: WebSocket): Pipe {
  return { send: (d) => ws.send(d, { binary: true }), onData: (fn) => ws.on('message', (d: Buffer) => fn(d)) };
}

/** Dials the relay and says which end this is (the first byte on tcp, the path on wss). */
function dial(mode: BareMode, port: number, role: 'pty' | 'client'): Promise<Pipe> {
  if (mode === 'tcp') {
    return new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(role === 'pty' ? 'P' : 'C');
        resolve(socketPipe(s));
      });
    });
  }
  const url = `wss://127.0.0.1:${port}/${role}`;
  const ws = new WebSocket(url, { ...channelSocketOptions(url), rejectUnauthorized: false });
  return new Promise((resolve) => ws.once('open', () => resolve(wsPipe(ws))));
}

function relay(mode: BareMode, tlsDir: string): void {
  const ends: { pty?: Pipe; client?: Pipe } = {};
  const attach = (role: 'pty' | 'client', p: Pipe) => {
    ends[role] = p;
    p.onData((d) => ends[role === 'pty' ? 'client' : 'pty']?.send(d));
  };
  const announce = (port: number) => process.stdout.write(`${port}\n`);
  if (mode === 'tcp') {
    const srv = createServer((s) =>
      s.once('data', (first) => {
        const role = first[0] === 0x50 ? 'pty' : 'client';
        attach(role, socketPipe(s));
        if (first.length > 1) ends[role === 'pty' ? 'client' : 'pty']?.send(first.subarray(1));
      }),
    );
    srv.listen(0, '127.0.0.1', () => announce((srv.address() as { port: number }).port));
    return;
  }
  const srv = createHttpsServer({
    key: readFileSync(join(tlsDir, 'key.pem')),
    cert: readFileSync(join(tlsDir, 'cert.pem')),
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  srv.on('upgrade', (req, sock, head) =>
    wss.handleUpgrade(req, sock, head, (ws) => attach(req.url === '/pty' ? 'pty' : 'client', wsPipe(ws))),
  );
  srv.listen(0, '127.0.0.1', () => announce((srv.address() as { port: number }).port));
}

async function ptyEnd(mode: BareMode, port: number): Promise<void> {
  const up = await dial(mode, port, 'pty');
  // As the benchmark's Outpost agent runs its shells: bash without rc files, as `nobody` when started as root.
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const term = spawnInTerminal('/bin/bash', ['--norc', '--noprofile', '-i'], {
    cols: 80,
    rows: 24,
    env: { TERM: 'xterm', PATH: '/usr/bin:/bin', HOME: '/tmp' },
    ...asNobody,
  });
  term.onData((d) => up.send(d));
  up.onData((d) => term.write(d));
  process.stdout.write('ready\n');
}

async function clientEnd(mode: BareMode, port: number): Promise<void> {
  const up = await dial(mode, port, 'client');
  process.stdin.on('data', (d: Buffer) => up.send(d));
  up.onData((d) => process.stdout.write(d));
}

/** A running bare relay: write keystrokes to `client.stdin`, read the terminal from `client.stdout`. */
export interface BareRelay {
  client: ChildProcess;
  stop(): void;
}

/** Starts the three processes of a bare relay in `mode`; `tlsDir` is a scratch directory for its certificate. */
export async function startBareRelay(mode: BareMode, tlsDir: string): Promise<BareRelay> {
  if (mode === 'wss') {
    execFileSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(tlsDir, 'key.pem'),
      '-out',
      join(tlsDir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ]);
  }
  const self = fileURLToPath(import.meta.url);
  const run = (args: string[], stdin: 'pipe' | 'ignore') =>
    spawn(process.execPath, ['--import', 'tsx', self, ...args], { stdio: [stdin, 'pipe', 'inherit'] });
  const firstLine = (p: ChildProcess) =>
    new Promise<string>((resolve) => p.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const relayProc = run(['relay', mode, tlsDir], 'ignore');
  const port = await firstLine(relayProc);
  const ptyProc = run(['pty', mode, port], 'ignore');
  // The PTY end is attached first, so the client's first keystrokes have somewhere to go.
  await firstLine(ptyProc);
  const client = run(['client', mode, port], 'pipe');
  return {
    client,
    stop() {
      for (const p of [client, ptyProc, relayProc]) p.kill('SIGKILL');
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [role, mode, arg] = process.argv.slice(2) as [string, BareMode, string];
  if (role === 'relay') relay(mode, arg);
  else if (role === 'pty') void ptyEnd(mode, Number(arg));
  else if (role === 'client') void clientEnd(mode, Number(arg));
  else throw new Error(`bare-relay: unknown role ${role}`);
}
