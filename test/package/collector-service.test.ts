/**
 * The collector service under a booted systemd: the packaged executable installs itself (`serve --install-service`)
 * in a Debian root booted with `systemd-nspawn --boot` (a throwaway overlay over the root, sharing the host's
 * network), the hardened unit starts (dynamic user, credentials, system-call filter, native addon cache), the API
 * answers from the host and the printed admin logs in, a SIGKILL of the collector is followed by a restart, a second
 * install changes nothing, the service is back after a reboot of the container (a private overlay kept across two
 * boots), and uninstall stops and removes it.
 *
 * Needs root, systemd-nspawn and a Debian root with systemd at ~/.cache/outpost/nspawn-root (OUTPOST_NSPAWN_ROOT):
 * it skips, saying which is missing, otherwise. Two boots cost about a minute and a half.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/collector.js';
import { packageCollector } from '../support/package-build.js';

const nspawnRoot = process.env.OUTPOST_NSPAWN_ROOT || join(homedir(), '.cache/outpost/nspawn-root');
const libatomic = '/usr/lib/x86_64-linux-gnu/libatomic.so.1';
const dir = tempDir('collector-service');
const out = join(dir.path, 'out');
const testDir = join(dir.path, 'test');

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('systemd-nspawn', ['--version']).status !== 0) return 'systemd-nspawn is not installed';
  if (!existsSync(join(nspawnRoot, 'usr/lib/systemd/systemd'))) return `no Debian root with systemd at ${nspawnRoot}`;
  if (!existsSync(libatomic)) return `${libatomic} is missing on the host`;
  return undefined;
}
let skipReason = whyNot();

const UNIT = `[Unit]
Description=Outpost collector service test
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh /test/run.sh
StandardOutput=file:/out/run.log
StandardError=inherit
`;

/** Runs inside the container; each result goes to /out, `ready` hands over to the host until `checked`. */
const SCRIPT = `set -x
port=$(cat /test/port)
if [ -e /var/lib/outpost-test-booted-once ]; then
  # Second boot: the enabled service came back by itself.
  for i in $(seq 120); do journalctl -b -u outpost --no-pager | grep -q 'API and console' && break; sleep 1; done
  systemctl is-active outpost > /out/active-after-reboot
  /test/outpost serve --uninstall-service > /out/uninstall 2>&1; echo $? > /out/uninstall.rc
  systemctl is-active outpost > /out/active3
  test -e /opt/outpost-collector; echo $? > /out/opt-gone
  touch /out/done
  systemctl poweroff
  exit 0
fi
/test/outpost serve --install-service --port "$port" > /out/install1 2>&1; echo $? > /out/install1.rc
for i in $(seq 120); do journalctl -u outpost --no-pager | grep -q 'API and console' && break; sleep 1; done
systemctl is-active outpost > /out/active1
journalctl -u outpost --no-pager -o cat > /out/journal1
touch /out/ready
for i in $(seq 120); do [ -e /out/checked ] && break; sleep 1; done
pid=$(systemctl show -p MainPID --value outpost); echo "$pid" > /out/pid1; kill -9 "$pid"
for i in $(seq 90); do p=$(systemctl show -p MainPID --value outpost); [ "$p" != 0 ] && [ "$p" != "$pid" ] && journalctl -u outpost --no-pager -o cat | grep -c 'API and console' | grep -q 2 && break; sleep 1; done
systemctl show outpost -p MainPID -p ActiveState -p NRestarts > /out/show2
/test/outpost serve --install-service --port "$port" > /out/install2 2>&1; echo $? > /out/install2.rc
stat -c '%u %a' /var/lib/outpost-collector/outpost.db > /out/db.stat 2>&1
stat -c '%U %a' /etc/outpost/collector.json > /out/config.stat 2>&1
touch /var/lib/outpost-test-booted-once /out/first-boot-done
systemctl poweroff
`;

const read = (f: string) => (existsSync(join(out, f)) ? readFileSync(join(out, f), 'utf8') : '');
const waitFile = async (f: string, ms: number) => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 1000)))
    if (existsSync(join(out, f))) return true;
  return false;
};

let port = 0;
let container: ReturnType<typeof spawn> | undefined;
let exited: Promise<number | null> | undefined;
let bootLog = '';
let mounted = false;
const merged = join(dir.path, 'merged');

/** Boots the overlay once; the test unit runs run.sh, which powers the container off when its phase is done. */
function boot(): void {
  container = spawn(
    'systemd-nspawn',
    [
      '-q',
      '-D',
      merged,
      '--register=no',
      '--keep-unit',
      `--bind=${out}:/out`,
      `--bind-ro=${testDir}:/test`,
      // The official Node binary links libatomic.so.1, which a minimal Debian lacks (package libatomic1).
      `--bind-ro=${libatomic}:${libatomic}`,
      `--bind-ro=${join(dir.path, 'probe.service')}:/etc/systemd/system/outpost-test.service`,
      '--boot',
      'systemd.wants=outpost-test.service',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  container.stdout!.on('data', (d: Buffer) => (bootLog += d.toString()));
  container.stderr!.on('data', (d: Buffer) => (bootLog += d.toString()));
  exited = new Promise((resolve) => container!.once('exit', (code) => resolve(code)));
}

beforeAll(async () => {
  if (skipReason) {
    console.warn(`SKIPPED collector service under systemd: ${skipReason}`);
    return;
  }
  const built = await packageCollector({ target: 'linux-x64' });
  if (built.skip !== undefined) {
    skipReason = `the collector executable cannot be built here: ${built.skip}`;
    console.warn(`SKIPPED collector service under systemd: ${skipReason}`);
    return;
  }
  mkdirSync(out);
  mkdirSync(testDir);
  copyFileSync(join(built.dir, 'outpost-linux-x64'), join(testDir, 'outpost'));
  spawnSync('chmod', ['755', join(testDir, 'outpost')]);
  writeFileSync(join(testDir, 'run.sh'), SCRIPT);
  writeFileSync(join(dir.path, 'probe.service'), UNIT);
  // A free port on the host: the container shares the host's network.
  port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  writeFileSync(join(testDir, 'port'), String(port));
  // A private overlay over the shared root, kept across the two boots (the root itself is never written).
  for (const d of ['upper', 'work', 'merged']) mkdirSync(join(dir.path, d));
  const mount = spawnSync('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${nspawnRoot},upperdir=${join(dir.path, 'upper')},workdir=${join(dir.path, 'work')}`,
    merged,
  ]);
  if (mount.status !== 0) {
    skipReason = `cannot mount an overlay over ${nspawnRoot}: ${mount.stderr.toString().trim()}`;
    console.warn(`SKIPPED collector service under systemd: ${skipReason}`);
    return;
  }
  mounted = true;
  boot();
  if (!(await waitFile('ready', 240_000))) throw new Error(`the container never got ready:\n${bootLog.slice(-3000)}`);
}, 300_000);

afterAll(async () => {
  if (container && container.exitCode === null) {
    writeFileSync(join(out, 'checked'), '');
    const killer = setTimeout(() => container?.kill('SIGKILL'), 120_000);
    await exited;
    clearTimeout(killer);
  }
  if (mounted) spawnSync('umount', [merged]);
  dir[Symbol.dispose]();
}, 180_000);

describe('the collector as a systemd service (booted container)', () => {
  it('installs, starts under the hardened unit and answers the API from the host', async (ctx) => {
    if (skipReason) ctx.skip();
    expect(read('install1.rc').trim(), read('install1')).toBe('0');
    expect(read('active1').trim(), read('journal1').slice(-3000)).toBe('active');
    const journal = read('journal1');
    const fingerprint = /SHA-256 ([0-9A-F:]{95})/.exec(journal)?.[1];
    const password = /^ +password {2}(\S+)$/m.exec(journal)?.[1];
    expect(fingerprint).toBeTruthy();
    const target = { server: `https://127.0.0.1:${port}`, caFingerprint: fingerprint };
    const login = await apiCall<{ token: string }>(target, 'POST', '/api/v1/auth/login', {
      email: 'admin@outpost.local',
      password,
    });
    expect(login.token).toMatch(/\S{20,}/);
    writeFileSync(join(out, 'checked'), '');
  });

  it('is restarted after a SIGKILL, re-installing changes nothing, data belongs to the dynamic user', async (ctx) => {
    if (skipReason) ctx.skip();
    expect(await waitFile('first-boot-done', 150_000), bootLog.slice(-3000)).toBe(true);
    const show = read('show2');
    expect(show).toMatch(/ActiveState=active/);
    expect(Number(/NRestarts=(\d+)/.exec(show)?.[1])).toBeGreaterThanOrEqual(1);
    expect(/MainPID=(\d+)/.exec(show)?.[1]).not.toBe(read('pid1').trim());
    expect(read('install2.rc').trim()).toBe('0');
    expect(read('install2')).not.toMatch(/created|updated/);
    expect(read('install2')).toMatch(/systemctl enable, start/);
    // Owned by the dynamic user (systemd allocates them in 61184–65519), owner-only.
    const [uid, mode] = read('db.stat').trim().split(' ');
    expect(Number(uid)).toBeGreaterThanOrEqual(61184);
    expect(Number(uid)).toBeLessThanOrEqual(65519);
    expect(mode).toBe('600');
    expect(read('config.stat').trim()).toBe('root 600');
  });

  it('comes back by itself after a reboot, then uninstalls: stopped, unit and executable gone', async (ctx) => {
    if (skipReason) ctx.skip();
    await exited;
    boot();
    expect(await waitFile('done', 200_000), bootLog.slice(-3000)).toBe(true);
    expect(read('active-after-reboot').trim()).toBe('active');
    expect(read('uninstall.rc').trim(), read('uninstall')).toBe('0');
    expect(read('active3').trim()).not.toBe('active');
    expect(read('opt-gone').trim()).toBe('1');
    await exited;
  }, 300_000);
});
