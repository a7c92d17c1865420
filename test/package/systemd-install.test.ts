/**
 * `outpost-agent install` for real, in a booted systemd: a Debian 12 root (debootstrap, cached) booted with
 * systemd-nspawn, the linux-x64 executable built by scripts/package/build.ts copied in, a collector on the host's
 * loopback. Install (enrolls, starts, comes online), the same install again (nothing changes, the agent is not
 * restarted), `kill -9` of the agent (systemd restarts it, same agent id), a reboot of the container (it comes back),
 * an upgrade to a build stamped with a higher version (same identity, the outbox carries on), uninstall (service and
 * executables gone, identity kept) and --purge. Also the exit codes an MDM reads: not root, another install
 * running, bad arguments, each with one line under --silent.
 *
 * Needs root and `pnpm build` first; skipped, saying why, where nspawn cannot run. The first run debootstraps the
 * root (minutes); later runs take well under a minute (the two builds are shared with the other packaging tests). It prints what it measured.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall, ShellClient } from '@outpost/collector';
import { initReleaseKeys } from '@outpost/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { cachedDeb, NspawnContainer, nspawnUnavailable } from '../support/nspawn.js';
import { BASE_VERSION, NEXT_VERSION, packageAgent } from '../support/package-build.js';
import { OutputBuffer, waitOnline } from '../support/shell.js';

const skipReason = nspawnUnavailable();
const dir = tempDir('systemd-install');
const baseVersion = BASE_VERSION;
/** The upgrade: the same code, stamped one patch higher. */
const nextVersion = NEXT_VERSION;
const measured: Record<string, string> = {};
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const ms = (t0: number) => `${Math.round(performance.now() - t0)} ms`;

let c: TestCollector | undefined;
let box: NspawnContainer | undefined;
let token = '';
let agentId = '';

/** The run's shared linux-x64 build, optionally stamped with the next version; its directory. */
async function build(version?: string): Promise<string> {
  const built = await packageAgent({ targets: ['linux-x64'], ...(version ? { version } : {}) });
  if (built.skip !== undefined) throw new Error(`the linux-x64 agent cannot be built here: ${built.skip}`);
  return built.dir;
}

/** Runs the agent inside the container. */
const agent = (exe: string, ...args: string[]) => box!.exec([exe, ...args]);
/** The release root the install is given (--update-root), inside the container. */
const ROOT_IN_BOX = '/root/1.root.json';
let releaseRoot = '';
const installArgs = () => {
  const a = ['install', '--server', c!.agentUrl, '--token', token, '--update-root', ROOT_IN_BOX];
  if (c!.fingerprint) a.push('--ca-fingerprint', c!.fingerprint);
  return a;
};
const inBox = (path: string) => join(box!.dir, path);

/** systemd's view of the unit: ActiveState, MainPID, NRestarts, UnitFileState. */
async function unit(): Promise<Record<string, string>> {
  const r = await box!.exec([
    'systemctl',
    'show',
    '-p',
    'ActiveState,MainPID,NRestarts,UnitFileState,KillMode,LoadState',
    'outpost-agent.service',
  ]);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
}

/** The host's pid of the container's process `inner` (NSpid's last field) named `name`. */
function hostPidOf(inner: number, name: string): number {
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (nspid && nspid.length > 1 && Number(nspid.at(-1)) === inner) {
        // Node names its main thread, so the command line, not the name, says which program it is.
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(name)) return Number(p);
      }
    } catch {
      // ended while we looked
    }
  }
  throw new Error(`no host process for ${name} (pid ${inner} inside)`);
}

/** Polls until `check` holds (or throws with the last value). */
async function until<T>(what: string, get: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await get();
  while (!check(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
    v = await get();
  }
  return v;
}

const agentRecord = () =>
  apiCall<{ status: string; agentVersion: string }>(c!.admin, 'GET', `/api/v1/agents/${agentId}`);

/** The running agent's status file (state directory). */
const statusFile = () =>
  JSON.parse(readFileSync(inBox('var/lib/outpost/status.json'), 'utf8')) as {
    pid: number;
    version: string;
    outbox: { nextSeq: number; acked: number };
  };

beforeAll(async () => {
  if (skipReason) {
    console.warn(`SKIPPED systemd install tests: ${skipReason}`);
    return;
  }
  if (!existsSync(join(repoRoot, 'agent/dist/cli.js'))) throw new Error('run `pnpm build` first');
  let t0 = performance.now();
  box = new NspawnContainer();
  // The two builds run while the collector starts and the container boots.
  const builds = Promise.all([build(), build(nextVersion)]).then((dirs) => {
    measured["build two executables (or reuse the run's)"] = ms(t0);
    return dirs;
  });
  c = await startTestCollector();
  token = (await c.enrollmentToken()).token;
  measured['container boot'] = `${Math.round(await box.boot())} ms`;
  // Node's Linux runtime links libatomic.so.1, which a minimal Debian (debootstrap minbase, slim images) lacks;
  // packages must depend on it (Debian libatomic1, RHEL libatomic).
  const libatomic = cachedDeb('libatomic1');
  if (!libatomic) throw new Error('apt-get download libatomic1 failed');
  copyFileSync(libatomic, inBox('root/libatomic1.deb'));
  const dpkg = await box.exec(['dpkg', '-i', '/root/libatomic1.deb']);
  if (dpkg.code !== 0) throw new Error(`dpkg -i libatomic1: ${dpkg.stderr}`);
  const [a, b] = await builds;
  t0 = performance.now();
  copyFileSync(join(a, 'outpost-agent-linux-x64'), inBox('root/outpost-agent-a'));
  copyFileSync(join(b, 'outpost-agent-linux-x64'), inBox('root/outpost-agent-b'));
  measured['copy executables in'] = ms(t0);
  // A release root from the release tools (docs/0011-releases.md), as an admin hands it to install.
  releaseRoot = initReleaseKeys(join(dir.path, 'release-keys')).rootFile;
  copyFileSync(releaseRoot, inBox(ROOT_IN_BOX));
}, 1_500_000);

afterAll(async () => {
  await box?.[Symbol.asyncDispose]();
  await c?.[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
  if (Object.keys(measured).length) {
    console.log(
      `systemd install, measured:\n${Object.entries(measured)
        .map(([k, v]) => `  ${k.padEnd(44)} ${v}`)
        .join('\n')}`,
    );
  }
}, 60_000);

describe.skipIf(skipReason !== undefined)('outpost-agent install in a booted systemd (Debian 12, nspawn)', () => {
  it('answers MDM exit codes with one line under --silent: not root 5, bad arguments 2, another install 4', async () => {
    // /root is 0700 in the container: the executable goes where nobody can run it.
    await box!.exec(['install', '-m', '0755', '/root/outpost-agent-a', '/usr/local/bin/outpost-agent-test']);
    const notRoot = await box!.exec([
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '/usr/local/bin/outpost-agent-test',
      ...installArgs(),
      '--silent',
    ]);
    expect(notRoot.code, notRoot.stderr).toBe(5);
    expect(notRoot.stdout).toBe('');
    expect(notRoot.stderr.trim().split('\n')).toEqual([expect.stringMatching(/OUTPOST_E_INSTALL_NOT_ROOT/)]);
    await box!.exec(['rm', '/usr/local/bin/outpost-agent-test']);

    const badArgs = await agent('/root/outpost-agent-a', 'install', '--token', token, '--silent');
    expect(badArgs.code).toBe(2);
    expect(badArgs.stderr.trim().split('\n')).toEqual([expect.stringMatching(/required option '--server/)]);
    const badServer = await agent(
      '/root/outpost-agent-a',
      'install',
      '--server',
      'ftp://x',
      '--token',
      token,
      '--silent',
    );
    expect(badServer.code).toBe(2);
    expect(badServer.stderr.trim().split('\n')).toHaveLength(1);

    // A live process holds the lock (as a concurrent install would).
    await box!.exec(['sh', '-c', 'sleep 60 >/dev/null 2>&1 & echo $! > /run/outpost-agent-install.lock']);
    const locked = await agent('/root/outpost-agent-a', ...installArgs(), '--silent');
    expect(locked.code).toBe(4);
    expect(locked.stderr.trim().split('\n')).toEqual([expect.stringMatching(/OUTPOST_E_INSTALL_LOCKED/)]);
    await box!.exec(['sh', '-c', 'kill $(cat /run/outpost-agent-install.lock); rm /run/outpost-agent-install.lock']);
    // None of these touched the machine.
    expect(existsSync(inBox('opt/outpost'))).toBe(false);
    expect(existsSync(inBox('etc/outpost'))).toBe(false);
  }, 60_000);

  it('installs silently: enrolled, running under systemd, online at the collector; files private, token nowhere', async () => {
    const t0 = performance.now();
    const r = await agent('/root/outpost-agent-a', ...installArgs(), '--silent');
    measured['install (copy, enroll, start)'] = ms(t0);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const config = JSON.parse(readFileSync(inBox('etc/outpost/agent.json'), 'utf8')) as { agentId: string };
    agentId = config.agentId;
    await waitOnline(c!.admin, agentId, 30_000);
    measured['install → online at the collector'] = ms(t0);

    expect(await unit()).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled', KillMode: 'process' });
    expect(lstatSync(inBox('opt/outpost/current')).isSymbolicLink()).toBe(true);
    // Hashes, not the buffers: a deep equality of two 119 MB buffers takes minutes.
    expect(sha256(inBox('opt/outpost/current/outpost-agent'))).toBe(sha256(inBox('root/outpost-agent-a')));
    expect(statSync(inBox('etc/outpost')).mode & 0o777).toBe(0o700);
    expect(statSync(inBox('etc/outpost/agent.json')).mode & 0o777).toBe(0o600);
    expect(statSync(inBox('var/lib/outpost')).mode & 0o777).toBe(0o700);
    const st = statSync(inBox('var/lib/outpost/agent.key'));
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
    // The release root self-update trusts: the admin's file, byte for byte, root's alone, named by the configuration.
    const rootSt = statSync(inBox('etc/outpost/update-root.json'));
    expect([rootSt.uid, rootSt.gid, rootSt.mode & 0o777]).toEqual([0, 0, 0o600]);
    expect(sha256(inBox('etc/outpost/update-root.json'))).toBe(sha256(releaseRoot));
    expect((config as { updateRoot?: string }).updateRoot).toBe('/etc/outpost/update-root.json');
    expect((await agentRecord()).agentVersion).toBe(baseVersion);
    // The service runs the installed executable through the pointer.
    const mainPid = (await unit()).MainPID!;
    const exe = await box!.exec(['readlink', `/proc/${mainPid}/exe`]);
    expect(exe.stdout.trim()).toBe(`/opt/outpost/versions/${baseVersion}/outpost-agent`);

    // The token was never written anywhere the container keeps (files, the journal).
    const leaks: string[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        const s = lstatSync(p);
        if (s.isDirectory()) walk(p);
        else if (s.isFile() && readFileSync(p).includes(token)) leaks.push(p);
      }
    };
    walk(box!.upper);
    expect(leaks).toEqual([]);
    const journal = await box!.exec(['journalctl', '-b', '--no-pager', '-o', 'cat']);
    expect(journal.stdout.length).toBeGreaterThan(0);
    expect(journal.stdout).not.toContain(token);
  }, 60_000);

  it('changes nothing when the same install runs again (exit 0, the agent is not restarted)', async () => {
    const before = await unit();
    const configMtime = statSync(inBox('etc/outpost/agent.json')).mtimeMs;
    const t0 = performance.now();
    const r = await agent('/root/outpost-agent-a', ...installArgs());
    measured['re-install (nothing to do)'] = ms(t0);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nothing changed/);
    // From the installed copy too (what an admin re-runs by hand).
    const again = await agent('/opt/outpost/current/outpost-agent', ...installArgs(), '--silent');
    expect(again).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await unit()).toMatchObject({ ActiveState: 'active', MainPID: before.MainPID, NRestarts: before.NRestarts });
    expect(statSync(inBox('etc/outpost/agent.json')).mtimeMs).toBe(configMtime);
  }, 60_000);

  it("keeps a remote shell's nohup and setsid jobs across an agent restart; the shell and its plain job end", async () => {
    // Elevated: the container has no unprivileged shell user configured (a root agent refuses a plain session).
    const s = await ShellClient.open(c!.admin, agentId, { elevated: true });
    const out = new OutputBuffer();
    s.onData(out.push);
    s.write(
      'sleep 4241 & echo PLAIN=$!; nohup sleep 4242 >/dev/null 2>&1 & echo NOHUP=$!; (setsid sleep 4243 & echo SETSID=$!); echo SHELL=$$\n',
    );
    const pid = async (name: string) => Number((await out.waitFor(new RegExp(`${name}=(\\d+)`)))[1]);
    const [plain, nohup, setsid, shell] = [
      await pid('PLAIN'),
      await pid('NOHUP'),
      await pid('SETSID'),
      await pid('SHELL'),
    ];
    // Pids of the container's namespace: asked inside it.
    const alive = async (p: number) => (await box!.exec(['sh', '-c', `kill -0 ${p}`])).code === 0;
    const state = async () => ({
      shell: await alive(shell),
      plain: await alive(plain),
      nohup: await alive(nohup),
      setsid: await alive(setsid),
    });
    expect(await state()).toEqual({ shell: true, plain: true, nohup: true, setsid: true });
    const restart = await box!.exec(['systemctl', 'restart', 'outpost-agent.service']);
    expect(restart.code, restart.stderr).toBe(0);
    await until('the shell and its plain job to end', state, (v) => !v.shell && !v.plain, 15_000);
    expect(await state()).toEqual({ shell: false, plain: false, nohup: true, setsid: true });
    expect(await unit()).toMatchObject({ ActiveState: 'active', KillMode: 'process' });
    await waitOnline(c!.admin, agentId, 30_000);
    s.terminate();
    await box!.exec(['sh', '-c', `kill ${nohup} ${setsid}`]);
  }, 60_000);

  it('is restarted by systemd after kill -9, with the same agent id', async () => {
    const before = await unit();
    const t0 = performance.now();
    // From the host, as an OOM kill or a crash would: the host pid whose innermost pid is systemd's MainPID.
    process.kill(hostPidOf(Number(before.MainPID), 'outpost-agent'), 'SIGKILL');
    const after = await until(
      'a new agent process',
      unit,
      (u) => u.ActiveState === 'active' && u.MainPID !== before.MainPID && u.MainPID !== '0',
    );
    expect(Number(after.NRestarts)).toBe(Number(before.NRestarts) + 1);
    await until('the restarted agent online', agentRecord, (a) => a.status === 'online');
    await until(
      'its status file',
      async () => statusFile().pid,
      (pid) => pid === Number(after.MainPID),
    );
    measured['kill -9 → restarted and online (RestartSec=5)'] = ms(t0);
    expect(JSON.parse(readFileSync(inBox('etc/outpost/agent.json'), 'utf8')).agentId).toBe(agentId);
  }, 60_000);

  it('comes back after a reboot of the container', async () => {
    await box!.poweroff();
    await until('the collector to see it offline', agentRecord, (a) => a.status !== 'online');
    const t0 = performance.now();
    await box!.boot();
    await until('the agent online after the reboot', agentRecord, (a) => a.status === 'online');
    measured['reboot: boot → agent online'] = ms(t0);
    expect(await unit()).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled' });
  }, 90_000);

  it('upgrades to a newer executable in place: same identity, the outbox carries on, the old version kept', async () => {
    const seqBefore = statusFile().outbox.nextSeq;
    const keyBefore = readFileSync(inBox('var/lib/outpost/agent.key'));
    const t0 = performance.now();
    const r = await agent('/root/outpost-agent-b', ...installArgs(), '--silent');
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: '' });
    await until('the new version online', agentRecord, (a) => a.status === 'online' && a.agentVersion === nextVersion);
    measured['upgrade → new version online'] = ms(t0);
    expect(readdirSync(inBox('opt/outpost/versions')).sort()).toEqual([baseVersion, nextVersion].sort());
    expect((await agent('/opt/outpost/current/outpost-agent', '--version')).stdout.trim()).toBe(nextVersion);
    expect(readFileSync(inBox('var/lib/outpost/agent.key'))).toEqual(keyBefore);
    expect(JSON.parse(readFileSync(inBox('etc/outpost/agent.json'), 'utf8')).agentId).toBe(agentId);
    // The new process continued the old outbox's sequence (a fresh one would start again at 1).
    const status = await until(
      'the new agent’s status',
      async () => statusFile(),
      (s) => s.version === nextVersion,
    );
    expect(status.outbox.nextSeq).toBeGreaterThan(seqBefore);

    // Going back is refused (exit 1) and changes nothing.
    const down = await agent('/root/outpost-agent-a', ...installArgs(), '--silent');
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/OUTPOST_E_INSTALL_DOWNGRADE/);
    expect((await agent('/opt/outpost/current/outpost-agent', '--version')).stdout.trim()).toBe(nextVersion);
  }, 90_000);

  it('uninstalls: service and executables gone, identity kept; --purge removes the rest; both idempotent', async () => {
    const t0 = performance.now();
    const r = await agent('/root/outpost-agent-b', 'uninstall', '--silent');
    measured.uninstall = ms(t0);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await unit()).toMatchObject({ ActiveState: 'inactive', LoadState: 'not-found' });
    expect(existsSync(inBox('etc/systemd/system/outpost-agent.service'))).toBe(false);
    expect(existsSync(inBox('etc/systemd/system/multi-user.target.wants/outpost-agent.service'))).toBe(false);
    expect(existsSync(inBox('opt/outpost'))).toBe(false);
    expect(existsSync(inBox('etc/outpost/agent.json'))).toBe(true);
    expect(existsSync(inBox('var/lib/outpost/agent.key'))).toBe(true);
    await until('the collector to see it offline', agentRecord, (a) => a.status !== 'online');
    const again = await agent('/root/outpost-agent-b', 'uninstall');
    expect(again).toMatchObject({ code: 0, stdout: 'nothing to remove\n' });

    const purge = await agent('/root/outpost-agent-b', 'uninstall', '--purge', '--silent');
    expect(purge).toMatchObject({ code: 0, stdout: '', stderr: '' });
    for (const p of ['etc/outpost', 'var/lib/outpost', 'var/cache/outpost'])
      expect(existsSync(inBox(p)), p).toBe(false);
    expect(await agent('/root/outpost-agent-b', 'uninstall', '--purge')).toMatchObject({
      code: 0,
      stdout: 'nothing to remove\n',
    });
  }, 60_000);
});
