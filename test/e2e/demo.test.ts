/**
 * The README's first hour, run as the README says (`pnpm demo`; as root on this machine, the usual case on a
 * server): the `outpost shell` and `outpost cp` commands the demo prints work exactly as printed, and Ctrl-C (SIGINT
 * to the whole foreground process group, as a terminal sends it) ends it with status 0, no `ELIFECYCLE`, and no
 * process left behind. Real pnpm, real collector and agent, real shell session through a PTY.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot, tempDir } from '../support/collector.js';
import { freePort } from '../support/process-collector.js';

/** Output collected from a child, with a wait for a pattern. */
function collect(child: ChildProcess) {
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return {
    text: () => text,
    waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        const timer = setInterval(() => {
          const m = text.match(re);
          if (m) {
            clearInterval(timer);
            resolve(m);
          } else if (child.exitCode !== null || Date.now() > deadline) {
            clearInterval(timer);
            reject(new Error(`no ${re} (exit ${child.exitCode}):\n${text.slice(-4000)}`));
          }
        }, 200);
        const deadline = Date.now() + ms;
      });
    },
  };
}

/** True while a process exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

it.skipIf(process.platform !== 'linux')(
  'pnpm demo: the printed shell and cp commands work as printed; Ctrl-C exits 0 and leaves no process',
  async () => {
    using dir = tempDir('demo');
    const demoDir = join(dir.path, 'state');
    const demo = spawn('pnpm', ['demo'], {
      cwd: repoRoot,
      env: { ...process.env, OUTPOST_DEMO_DIR: demoDir, OUTPOST_DEMO_PORT: String(await freePort()) },
      detached: true, // its own process group, as a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = collect(demo);
    const group = demo.pid!;
    try {
      await out.waitFor(/Try it from another terminal[\s\S]*outpost-agent\.js[^\n]* status\n/, 420_000);
      const block = out.text().split(/Try it from another terminal[^\n]*\n/)[1]!;
      const commands = block
        .split('\n')
        .filter((l) => l.startsWith('  '))
        .map((l) => l.trim());
      const cd = commands.find((c) => c.startsWith('cd '))!;
      const find = (re: RegExp) => {
        const c = commands.find((x) => re.test(x));
        expect(c, `${re} among:\n${commands.join('\n')}`).toBeDefined();
        return c!;
      };
      /** Runs a printed line exactly as printed, from the printed folder, as another terminal would. */
      const run = (line: string, input = '') =>
        spawnSync('sh', ['-c', `${cd} && ${line}`], {
          cwd: dir.path,
          input,
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, OUTPOST_CLI_CONFIG: join(dir.path, 'cli.json') },
        });
      const ok = (r: ReturnType<typeof run>, what: string) =>
        expect(r.status, `${what}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);

      ok(run(find(/ login /)), 'login');
      // The printed console URL serves the console (the page a browser gets, with its CSP).
      const consoleUrl = /web console\s+(\S+)/.exec(out.text())?.[1];
      expect(consoleUrl, out.text()).toMatch(/^https:\/\/.+\/$/);
      const page = await new Promise<{ status: number; csp: string; body: string }>((resolve, reject) => {
        httpsGet(consoleUrl!, { rejectUnauthorized: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, csp: String(res.headers['content-security-policy']), body }),
          );
        }).on('error', reject);
      });
      expect(page.status).toBe(200);
      expect(page.body).toContain('<div id="app">');
      expect(page.csp).toContain("script-src 'self'");
      const shell = run(find(/ shell ag_\w+$/), 'id -un; echo "shell works: $((6 * 7))"\nexit\n');
      ok(shell, 'shell');
      expect(shell.stdout).toContain('shell works: 42');
      const expectedUser = process.getuid?.() === 0 ? 'outpost-demo' : (process.env.USER ?? '');
      expect(shell.stdout).toContain(expectedUser);

      const upload = find(/ cp README\.md ag_\w+:/);
      ok(run(upload), 'upload');
      expect(readFileSync(join(demoDir, 'files', 'README.md'), 'utf8')).toBe(
        readFileSync(join(repoRoot, 'README.md'), 'utf8'),
      );
      const download = find(/ cp ag_\w+:\S+ /);
      ok(run(download), 'download');
      expect(readFileSync(join(demoDir, 'hello.txt'), 'utf8')).toBe(
        readFileSync(join(demoDir, 'files', 'hello.txt'), 'utf8'),
      );
      const status = run(find(/outpost-agent\.js --config \S+ status$/));
      ok(status, 'status');
      expect(status.stdout).toMatch(/process {3}running/);
    } catch (err) {
      process.kill(-group, 'SIGKILL');
      throw err;
    }

    // Ctrl-C: every process of the foreground group gets SIGINT.
    const members = spawnSync('ps', ['-o', 'pid=', '-g', String(group)], { encoding: 'utf8' })
      .stdout.split('\n')
      .map(Number)
      .filter((p) => p > 0);
    // 'close', not 'exit': by then every line the group wrote to the pipes has been read.
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
      demo.once('close', (code, signal) => r([code, signal])),
    );
    process.kill(-group, 'SIGINT');
    const [code, signal] = await exited;
    expect({ code, signal }, out.text().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(out.text()).not.toContain('ELIFECYCLE');
    expect(out.text()).not.toMatch(/demo failed|exited with/);
    // A member may still be in its exit path when the parent is reaped: gone within a bound, not at once.
    await expect.poll(() => members.filter(running), { timeout: 5000 }).toEqual([]);
    const leftovers = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => l.includes(demoDir));
    expect(leftovers).toEqual([]);
    expect(existsSync(join(demoDir, 'agent', 'agent.json'))).toBe(true);
  },
  600_000,
);
