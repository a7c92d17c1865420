/**
 * A booted Debian 12 in systemd-nspawn, for tests that need a real systemd: the root is built once with debootstrap
 * and cached (~/.cache/outpost/nspawn-root, OUTPOST_NSPAWN_ROOT), each test boots it through an overlay so the cache
 * stays pristine and what a test wrote survives the container's reboots. The container shares the host's network,
 * so an agent inside reaches a collector on the host's 127.0.0.1. Commands run inside with nsenter (the host may
 * not run systemd itself, so there is no machinectl: `--register=no --keep-unit`).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the debootstrapped root is cached. */
export const nspawnRootCache = (): string =>
  process.env.OUTPOST_NSPAWN_ROOT || join(homedir(), '.cache', 'outpost', 'nspawn-root');

const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/**
 * Why a booted container cannot be had here, or undefined when it can (tools installed from Debian if missing,
 * the root debootstrapped into the cache if missing: minutes, once).
 */
export function nspawnUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'systemd-nspawn needs Linux';
  if (process.getuid?.() !== 0) return 'systemd-nspawn --boot needs root';
  if (!have('systemd-nspawn') || !have('debootstrap') || !have('nsenter')) {
    const r = spawnSync('apt-get', ['install', '-y', '-q', 'debootstrap', 'systemd-container'], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (!have('systemd-nspawn') || !have('debootstrap'))
      return `systemd-nspawn or debootstrap missing and apt-get install failed: ${(r.stderr ?? '').trim().slice(-300)}`;
  }
  const cache = nspawnRootCache();
  if (!existsSync(join(cache, 'usr/lib/systemd/systemd'))) {
    const tmp = `${cache}.tmp-${process.pid}`;
    mkdirSync(join(cache, '..'), { recursive: true });
    const r = spawnSync(
      'debootstrap',
      [
        '--variant=minbase',
        '--include=systemd,systemd-sysv,dbus,ca-certificates',
        'bookworm',
        tmp,
        'http://deb.debian.org/debian',
      ],
      { encoding: 'utf8', timeout: 1_200_000 },
    );
    if (r.status !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      return `debootstrap of Debian 12 failed (mirror unreachable?): ${(r.stderr || r.stdout || '').trim().slice(-300)}`;
    }
    renameSync(tmp, cache);
  }
  return undefined;
}

/**
 * A Debian package's .deb from the host's apt (same release as the container), cached beside the root: for
 * libraries a minimal Debian lacks. Undefined when apt cannot fetch it.
 */
export function cachedDeb(pkg: string): string | undefined {
  const dir = join(nspawnRootCache(), '..', 'debs');
  mkdirSync(dir, { recursive: true });
  const find = () => readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!find()) spawnSync('apt-get', ['download', '-q', pkg], { cwd: dir, timeout: 120_000 });
  const f = find();
  return f ? join(dir, f) : undefined;
}

/** The outcome of a command run inside. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Process ids whose parent is `pid` (scanning /proc: no procps needed). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** A process's command name, or '' when it has ended. */
function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** A container over an overlay of the cached root; `boot()` it, `exec` inside, `poweroff()`, boot again. */
export class NspawnContainer implements AsyncDisposable {
  readonly base = mkdtempSync(join(tmpdir(), 'outpost-nspawn-'));
  /** The container's root as the host sees it. */
  readonly dir = join(this.base, 'merged');
  /** Only what the container (or the test) wrote: a place to search for leaked secrets. */
  readonly upper = join(this.base, 'upper');
  readonly name = `outpost-test-${process.pid}`;
  #nspawn: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #leader = 0;
  #overlay = false;
  /** The boot console's output, for a failure message. */
  console = '';

  constructor() {
    for (const d of ['merged', 'upper', 'work']) mkdirSync(join(this.base, d));
    const lower = nspawnRootCache();
    const m = spawnSync('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${lower},upperdir=${this.upper},workdir=${join(this.base, 'work')}`,
      this.dir,
    ]);
    this.#overlay = m.status === 0;
    // No overlayfs (a nested container): a copy, slower but the same.
    if (!this.#overlay) execFileSync('cp', ['-a', `${lower}/.`, this.dir]);
  }

  /** Boots and waits until systemd reports the boot finished. Returns the milliseconds it took. */
  async boot(): Promise<number> {
    const t0 = performance.now();
    this.console = '';
    const p = spawn(
      'systemd-nspawn',
      ['-D', this.dir, '--boot', '--register=no', '--keep-unit', '--console=pipe', '-M', this.name],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    p.stdout!.on('data', (d: Buffer) => {
      this.console = (this.console + d.toString()).slice(-20_000);
    });
    p.stderr!.on('data', (d: Buffer) => {
      this.console = (this.console + d.toString()).slice(-20_000);
    });
    this.#nspawn = p;
    this.#exited = new Promise((resolve) => p.once('exit', () => resolve()));
    // nspawn → its child in the new namespaces → systemd (PID 1 inside).
    const deadline = Date.now() + 30_000;
    this.#leader = 0;
    while (!this.#leader) {
      if (Date.now() > deadline || p.exitCode !== null) throw new Error(`the container did not boot:\n${this.console}`);
      for (const c of childrenOf(p.pid!)) {
        for (const g of [c, ...childrenOf(c)]) {
          if (commOf(g) === 'systemd') this.#leader = g;
        }
      }
      if (!this.#leader) await new Promise((r) => setTimeout(r, 50));
    }
    // PID 1 may not answer yet (its bus socket comes first thing in the boot): ask again until it does.
    let state: ExecResult;
    for (;;) {
      state = await this.exec(['systemctl', 'is-system-running', '--wait'], 60_000);
      if (/running|degraded/.test(state.stdout)) break;
      if (Date.now() > deadline || p.exitCode !== null)
        throw new Error(`boot ended ${state.stdout} ${state.stderr}:\n${this.console}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return performance.now() - t0;
  }

  /** Runs a command inside (all namespaces of the container's PID 1), as root unless wrapped in setpriv. */
  exec(argv: string[], timeoutMs = 60_000): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = spawn('nsenter', ['-t', String(this.#leader), '-a', '--', ...argv], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
        timeout: timeoutMs,
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      // 'close' waits for every holder of the pipes; a process left behind inside must not hang the test.
      const late = setTimeout(
        () => resolve({ code: null, stdout, stderr: `${stderr}\n(timed out)` }),
        timeoutMs + 5_000,
      );
      child.once('close', (code) => {
        clearTimeout(late);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Powers the container off and waits for nspawn to end. */
  async poweroff(): Promise<void> {
    if (!this.#nspawn || this.#nspawn.exitCode !== null) return;
    await this.exec(['systemctl', 'poweroff'], 10_000);
    const timer = setTimeout(() => this.#nspawn?.kill('SIGKILL'), 30_000);
    await this.#exited;
    clearTimeout(timer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.poweroff().catch(() => this.#nspawn?.kill('SIGKILL'));
    await this.#exited;
    if (this.#overlay) spawnSync('umount', [this.dir]);
    rmSync(this.base, { recursive: true, force: true });
  }
}
