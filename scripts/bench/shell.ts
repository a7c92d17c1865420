/**
 * Remote shell benchmark: keystroke echo latency (median, p99 over 300 keystrokes) and bulk output throughput
 * (50 MB through a PTY) through the Outpost relay (technician ⇄ collector ⇄ agent) and through `ssh -tt` to a
 * throwaway sshd on a loopback port (stopped after; OpenSSH must be installed beforehand — the bench says so and
 * stops when it is not, it installs nothing). Prints ratios and, last,
 * one JSON line with the figures.
 *
 * Beside those two required figures it measures what a technician meets: 60 keystrokes at a typist's pace (one
 * every 100–160 ms, so every keystroke wakes processes that have gone idle) and 50 MB of 80-character text lines
 * (terminal output as a log or a listing gives it; the 50 MB line of `tr` stresses the relay, lines the PTY).
 *
 * Both sides are driven the same way: this process writes keystrokes into a client process and reads the echo
 * from it — `ssh -tt` for ssh, `outpost shell <agent>` (the CLI, a process of its own) for Outpost — once through
 * its stdin and stdout pipes and once through a local PTY, as in a terminal window (`BENCH_ATTACH=pipes` or
 * `terminal` runs one of the two). The collector (`outpost serve`, TLS on) and the agent run as their own processes, as deployed.
 * Echo latency is measured twice with the same script on both sides: on fresh processes ("cold", the first 300
 * keystrokes of a session) and again after the 50 MB transfer ("warm": Node's JIT has optimised the relay path by
 * then, as in a collector that has been serving for a while; ssh is C, so its two figures differ by noise only).
 * After ssh it runs two bare relays (`bare-relay.ts`): the same three processes carrying only bytes, over plain
 * TCP and over WebSocket with TLS, which show what the process layout costs before any of Outpost's own code.
 *
 * `BENCH_CLIENT=in-process` drives Outpost through the CLI's ShellClient inside this process instead (one process
 * hop less than ssh: how the benchmark ran before; for comparison only). `BENCH_IN_PROCESS=1` also runs the
 * collector inside this process. `BENCH_PROFILE=<dir>` writes V8 CPU profiles of the collector, agent and CLI.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiTarget, apiCall, ShellClient } from '@outpost/collector';
import { outpostBin, startTestCollector, tempDir } from '../../test/support/collector.js';
import { bootstrap, freePort, startCollectorProcess } from '../../test/support/process-collector.js';
import { cliEnv, startShellAgent } from '../../test/support/shell.js';
import { spawnInTerminal } from '../../test/support/terminal.js';
import { type BareMode, startBareRelay } from './bare-relay.js';

const KEYS = 300;
const BULK = 50 * 1024 * 1024;
/** Keystrokes at a typist's pace: 60, one every 100–160 ms (a fast typist, about 8 keys a second). */
const TYPED_KEYS = 60;
/** One line of the text workload: 79 characters and a newline, as in a log or a listing. */
const TEXT_LINE = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789abcdef';

interface Term {
  write(s: string): void;
  onData(fn: (d: Buffer) => void): void;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

interface Figures {
  median: number;
  p99: number;
  warmMedian: number;
  warmP99: number;
  /** Echo of keystrokes typed at a person's pace (median, slowest): each reaches processes that have gone idle. */
  typedMedian: number;
  typedMax: number;
  /** 50 MB as one line (`tr` of /dev/zero): what the relay itself carries, the PTY doing least. */
  mbps: number;
  /** 50 MB of 80-character lines: terminal output as `cat` of a log gives it (the PTY turns each \n into \r\n). */
  textMbps: number;
}

async function measure(term: Term): Promise<Figures> {
  let buf = '';
  let waiter: (() => void) | undefined;
  let count = 0;
  term.onData((d) => {
    count += d.length;
    buf += d.toString('latin1');
    if (buf.length > 4096) buf = buf.slice(-4096);
    waiter?.();
  });
  const until = (pred: () => boolean) =>
    new Promise<void>((resolve) => {
      if (pred()) return resolve();
      waiter = () => {
        if (pred()) {
          waiter = undefined;
          resolve();
        }
      };
    });
  const keystroke = async () => {
    buf = '';
    const t0 = process.hrtime.bigint();
    term.write('x');
    await until(() => buf.includes('x'));
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const echo = async () => {
    const lat: number[] = [];
    for (let i = 0; i < KEYS; i++) {
      lat.push(await keystroke());
      if (i % 50 === 49) {
        term.write('\x15');
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    term.write('\x15');
    await new Promise((r) => setTimeout(r, 100));
    return { median: pct(lat, 50), p99: pct(lat, 99) };
  };
  term.write('stty -echoctl; PS1=READY\\>; echo sta""rted\n');
  await until(() => buf.includes('started'));
  await new Promise((r) => setTimeout(r, 300));
  const cold = await echo();
  /** MB/s of what reaches the client while `command` prints BULK bytes. */
  const bulk = async (command: string) => {
    buf = '';
    const start = count;
    const t0 = process.hrtime.bigint();
    term.write(`${command}; echo; echo DO""NE\n`);
    await until(() => buf.includes('DONE'));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    await new Promise((r) => setTimeout(r, 300));
    return (count - start) / 1e6 / secs;
  };
  const mbps = await bulk(`head -c ${BULK} /dev/zero | tr '\\0' 'a'`);
  const textMbps = await bulk(`yes ${TEXT_LINE} | head -c ${BULK}`);
  const warm = await echo();
  const typedLat: number[] = [];
  for (let i = 0; i < TYPED_KEYS; i++) {
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 60));
    typedLat.push(await keystroke());
  }
  term.write('\x15');
  await new Promise((r) => setTimeout(r, 100));
  return {
    ...cold,
    warmMedian: warm.median,
    warmP99: warm.p99,
    typedMedian: pct(typedLat, 50),
    typedMax: pct(typedLat, 100),
    mbps,
    textMbps,
  };
}

/**
 * How the technician's client is attached: `pipes` (the benchmark writes its stdin and reads its stdout) or
 * `terminal` (a local PTY, as a technician runs `ssh` or `outpost shell` in a terminal window: the client puts it
 * in raw mode and both sides pay for the local terminal too).
 */
type Attach = 'pipes' | 'terminal';

/** A client process the benchmark types into. */
interface Client extends Term {
  exited: Promise<void>;
  kill(): void;
}

/** Starts `file args` with its stdin and stdout on pipes or on a local PTY (80x24 either way). */
function launch(attach: Attach, file: string, args: string[], env: NodeJS.ProcessEnv): Client {
  if (attach === 'terminal') {
    const term = spawnInTerminal(file, args, { cols: 80, rows: 24, env });
    return {
      write: term.write,
      onData: term.onData,
      exited: term.exited.then(() => undefined),
      kill: () => term.kill('SIGKILL'),
    };
  }
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    write: (s) => child.stdin!.write(s),
    onData: (fn) => child.stdout!.on('data', fn),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

/** `outpost shell <agent>` as its own process, attached as `ssh -tt` is below. */
async function withCli<T>(
  attach: Attach,
  c: BenchCollector,
  agentId: string,
  fn: (cli: Client) => Promise<T>,
): Promise<T> {
  const cliDir = mkdtempSync(join(tmpdir(), 'outpost-cli-'));
  const nodeArgs = process.env.OUTPOST_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const cli = launch(attach, process.execPath, [...nodeArgs, outpostBin, 'shell', agentId], cliEnv(c.admin, cliDir));
  try {
    return await fn(cli);
  } finally {
    // `exit` ends the remote shell, so the CLI exits with its status (a profiled CLI writes its profile then).
    cli.write('exit\n');
    const timer = setTimeout(() => cli.kill(), 5000);
    await cli.exited;
    clearTimeout(timer);
    rmSync(cliDir, { recursive: true, force: true });
  }
}

/** The same process layout with nothing but the transport (`bare-relay.ts`), driven like the CLI. */
async function bare(mode: BareMode): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bare-'));
  const relay = await startBareRelay(mode, dir);
  try {
    const cli = relay.client;
    return await measure({ write: (s) => cli.stdin!.write(s), onData: (fn) => cli.stdout!.on('data', fn) });
  } finally {
    relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withSshd<T>(attach: Attach, fn: (ssh: Client) => Promise<T>): Promise<T> {
  const missing = ['/usr/sbin/sshd', '/usr/bin/ssh', '/usr/bin/ssh-keygen'].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    // A benchmark measures; preparing the machine is a documented step (README, Benchmarks).
    process.stderr.write(
      `bench:shell compares against OpenSSH, and ${missing.join(', ')} is missing: install it first ` +
        '(apt-get install -y openssh-server openssh-client), then run the bench again\n',
    );
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'outpost-sshd-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user')]);
  writeFileSync(join(dir, 'authorized_keys'), execFileSync('cat', [join(dir, 'user.pub')]));
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `ListenAddress 127.0.0.1`,
      `HostKey ${join(dir, 'host')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'PermitRootLogin yes',
      'StrictModes no',
      'UsePAM no',
      `PidFile ${join(dir, 'sshd.pid')}`,
    ].join('\n'),
  );
  execFileSync('mkdir', ['-p', '/run/sshd']);
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-f', join(dir, 'sshd_config'), '-p', String(port)], {
    stdio: 'inherit',
  });
  await new Promise((r) => setTimeout(r, 500));
  const ssh = launch(
    attach,
    'ssh',
    [
      '-tt',
      '-p',
      String(port),
      '-i',
      join(dir, 'user'),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '127.0.0.1',
      'env -i TERM=xterm PATH=/usr/bin:/bin bash --norc --noprofile -i',
    ],
    process.env,
  );
  try {
    return await fn(ssh);
  } finally {
    ssh.kill();
    sshd.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the agent needs of a collector, and how to stop it. */
interface BenchCollector {
  agentUrl: string;
  fingerprint: string | undefined;
  admin: ApiTarget;
  enrollmentToken(): Promise<{ token: string; id: string }>;
  stop(): Promise<void>;
}

async function collectorInProcess(): Promise<BenchCollector> {
  const c = await startTestCollector();
  return {
    ...c,
    stop: async () => {
      await c[Symbol.asyncDispose]();
    },
  };
}

/** `outpost serve` as its own process, as deployed (TLS on, its default). */
async function collectorProcess(dataDir: string): Promise<BenchCollector> {
  const port = await freePort();
  const info = await startCollectorProcess(dataDir, port);
  const agentUrl = /agent endpoint\s+(\S+)\/v1\/agent/.exec(info.proc.stdout())?.[1];
  if (!agentUrl) throw new Error(`no agent endpoint in:\n${info.proc.stdout()}`);
  const { admin, siteId } = await bootstrap(info);
  return {
    agentUrl,
    fingerprint: info.fingerprint,
    admin,
    async enrollmentToken() {
      const r = await apiCall<{ token: string; info: { id: string } }>(admin, 'POST', '/api/v1/enrollment-tokens', {
        siteId,
        maxUses: 1,
        expiresInHours: 1,
      });
      return { token: r.token, id: r.info.id };
    },
    // SIGTERM lets a profiled collector write its profile.
    stop: () => info.proc.kill('SIGTERM'),
  };
}

/** One Outpost run on fresh processes (collector, agent, client), so no layout starts with another's warm JIT. */
async function runOutpost(attach: Attach, inProcess: boolean, inProcessClient: boolean): Promise<Figures> {
  const dir = tempDir('bench-shell');
  for (const d of ['collector', 'agent']) mkdirSync(join(dir.path, d));
  const c = inProcess ? await collectorInProcess() : await collectorProcess(join(dir.path, 'collector'));
  const agent = await startShellAgent(c, join(dir.path, 'agent'));
  let figures: Figures;
  if (inProcessClient) {
    // Same terminal size as the CLI and ssh get (80x24).
    const client = await ShellClient.open(c.admin, agent.agentId, { cols: 80, rows: 24 });
    figures = await measure({ write: (s) => client.write(s), onData: (fn) => client.onData(fn) });
    client.close();
    await client.ended;
  } else figures = await withCli(attach, c, agent.agentId, (cli) => measure(cli));
  await agent.proc.kill('SIGTERM');
  await c.stop();
  dir[Symbol.dispose]();
  return figures;
}

const ratiosOf = (o: Figures, ssh: Figures) => ({
  median: o.median / ssh.median,
  p99: o.p99 / ssh.p99,
  warmMedian: o.warmMedian / ssh.warmMedian,
  warmP99: o.warmP99 / ssh.warmP99,
  typedMedian: o.typedMedian / ssh.typedMedian,
  typedMax: o.typedMax / ssh.typedMax,
  throughput: o.mbps / ssh.mbps,
  textThroughput: o.textMbps / ssh.textMbps,
});

async function main(): Promise<void> {
  const inProcess = process.env.BENCH_IN_PROCESS === '1';
  const inProcessClient = process.env.BENCH_CLIENT === 'in-process';
  if (process.env.BENCH_PROFILE) {
    // Passed to the collector, agent and CLI processes spawned below (run this one with --cpu-prof to profile it).
    process.env.OUTPOST_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE}`;
  }
  const attaches = (process.env.BENCH_ATTACH ?? 'pipes,terminal').split(',') as Attach[];
  for (const a of attaches)
    if (a !== 'pipes' && a !== 'terminal') throw new Error(`BENCH_ATTACH: pipes and/or terminal, not ${a}`);
  const runs: { attach: Attach; outpost: Figures; ssh: Figures }[] = [];
  for (const attach of attaches) {
    const outpost = await runOutpost(attach, inProcess, inProcessClient);
    const ssh = await withSshd(attach, (p) => measure(p));
    runs.push({ attach, outpost, ssh });
  }
  const bareTcp = await bare('tcp');
  const bareWss = await bare('wss');
  const label = inProcessClient ? 'outpost (client in-proc)' : 'outpost shell';
  const f = (x: number, d = 3) => x.toFixed(d);
  const figures = (x: Figures) => [x.median, x.p99, x.warmMedian, x.warmP99, x.typedMedian, x.typedMax];
  const row = (name: string, x: Figures) => [name, ...figures(x).map((v) => f(v)), f(x.mbps, 1), f(x.textMbps, 1)];
  const header = ['median ms', 'p99 ms', 'warm med', 'warm p99', 'typed med', 'typed max', 'MB/s', 'text MB/s'];
  const rows = [['', ...header]];
  for (const r of runs) {
    const q = ratiosOf(r.outpost, r.ssh);
    rows.push(row(`${label}, ${r.attach}`, r.outpost), row(`ssh -tt, ${r.attach}`, r.ssh), [
      `ratio outpost/ssh, ${r.attach}`,
      ...[q.median, q.p99, q.warmMedian, q.warmP99, q.typedMedian, q.typedMax, q.throughput, q.textThroughput].map(
        (v) => f(v, 2),
      ),
    ]);
  }
  rows.push(row('bare relay, wss, pipes', bareWss), row('bare relay, tcp, pipes', bareTcp));
  for (const r of rows)
    process.stdout.write(
      `${r[0]!.padEnd(30)}${r
        .slice(1)
        .map((x) => x.padStart(11))
        .join('')}\n`,
    );
  const byAttach = Object.fromEntries(
    runs.map((r) => [r.attach, { outpost: r.outpost, ssh: r.ssh, ratios: ratiosOf(r.outpost, r.ssh) }]),
  );
  process.stdout.write(
    `${JSON.stringify({
      keystrokes: KEYS,
      bulkBytes: BULK,
      collector: inProcess ? 'in-process' : 'process',
      client: inProcessClient ? 'in-process' : 'cli-process',
      loadAverage: loadavg()[0],
      ...byAttach,
      bareRelay: { wss: bareWss, tcp: bareTcp },
    })}\n`,
  );
  process.exit(0);
}

void main();
