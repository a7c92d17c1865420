/** Units of the agent's jobs: bounded output, the journal on a real disk, the argv of every plan, reboot decisions. */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptSigningPayload } from '@outpost/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { readAgentConfig } from '../config/index.js';
import { JobJournal } from './journal.js';
import { BoundedOutput } from './output.js';
import {
  APT_LOCK_TIMEOUT_SEC,
  type Host,
  patchPlan,
  rebootCommand,
  scriptPlan,
  shouldReboot,
  softwarePlan,
  Unsupported,
  WUA_SCRIPT,
} from './plans.js';
import { checkScript } from './signature.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'outpost-jobs-unit-'));
  dirs.push(d);
  return d;
};

describe('bounded output', () => {
  it('keeps everything while it fits', () => {
    const o = new BoundedOutput(8, 8);
    o.write(Buffer.from('hello '));
    o.write(Buffer.from('world'));
    expect(o.result()).toEqual({ head: 'hello wo', tail: 'rld', truncatedBytes: 0 });
  });

  it('keeps the head and the tail of a long stream written in small and large chunks, and counts the rest', () => {
    const o = new BoundedOutput(4, 6);
    const text = `ABCD${'x'.repeat(10_000)}tail!!`;
    for (let i = 0; i < text.length; i += 7) o.write(Buffer.from(text.slice(i, i + 7)));
    expect(o.result()).toEqual({ head: 'ABCD', tail: 'tail!!', truncatedBytes: 10_000 });
    expect(o.totalBytes).toBe(text.length);
    const big = new BoundedOutput(4, 6);
    big.write(Buffer.from(text));
    expect(big.result()).toEqual({ head: 'ABCD', tail: 'tail!!', truncatedBytes: 10_000 });
  });

  it('memory stays bounded: 50 MB through a 64 KiB capture', () => {
    const o = new BoundedOutput(32 * 1024, 32 * 1024);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 800; i++) o.write(chunk);
    const r = o.result();
    expect(r.head.length + r.tail.length).toBe(64 * 1024);
    expect(r.truncatedBytes).toBe(800 * 64 * 1024 - 64 * 1024);
  });
});

describe('journal', () => {
  const id = (n: number) => `jb_${n.toString(16).padStart(24, '0')}`;

  it('survives a new instance (a restart): started entries are the unfinished ones, finished ones are known', () => {
    const dir = temp();
    const j = new JobJournal(dir);
    j.write({ jobId: id(1), state: 'started', startedAt: 1, finishedAt: null });
    j.write({ jobId: id(2), state: 'started', startedAt: 2, finishedAt: null });
    j.write({ jobId: id(2), state: 'succeeded', startedAt: 2, finishedAt: 3 });
    const again = new JobJournal(dir);
    expect(again.unfinished().map((e) => e.jobId)).toEqual([id(1)]);
    expect(again.get(id(2))?.state).toBe('succeeded');
    expect(again.get(id(3))).toBeUndefined();
    expect(readdirSync(again.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a corrupt entry still counts as known (never rerun); stale temp files are cleared; old finished entries pruned', () => {
    const dir = temp();
    const j = new JobJournal(dir);
    writeFileSync(join(j.dir, `${id(4)}.json`), '{"jobId":');
    writeFileSync(join(j.dir, `${id(5)}.json.tmp`), 'x');
    expect(j.get(id(4))?.state).toBe('interrupted');
    j.unfinished();
    expect(readdirSync(j.dir)).not.toContain(`${id(5)}.json.tmp`);
    j.write({ jobId: id(6), state: 'failed', startedAt: 10, finishedAt: 20 });
    j.write({ jobId: id(7), state: 'started', startedAt: 10, finishedAt: null });
    expect(j.prune(100)).toBe(1);
    expect(j.get(id(6))).toBeUndefined();
    expect(j.get(id(7))?.state).toBe('started'); // a running job is never forgotten
    expect(() => j.write({ jobId: '../x', state: 'started', startedAt: 0, finishedAt: null })).toThrow();
  });
});

describe('plans (argv)', () => {
  const host = (over: Partial<Host>): Host => ({
    platform: 'linux',
    manager: 'apt',
    aptOptions: [],
    rootDir: '/',
    ...over,
  });

  it('apt: the notes’ non-interactive flags, lock wait, env and the Debian reboot flag', () => {
    const p = patchPlan(host({ aptOptions: ['Dir=/tmp/r'], rootDir: '/tmp/r' }), 'all', '/s/jobs');
    expect(p.steps.map((s) => [s.cmd, ...s.args])).toEqual([
      ['apt-get', '-o', 'Dir=/tmp/r', '-q', '-o', `Dpkg::Lock::Timeout=${APT_LOCK_TIMEOUT_SEC}`, 'update'],
      [
        'apt-get',
        '-o',
        'Dir=/tmp/r',
        '-y',
        '-q',
        '-o',
        'Dpkg::Options::=--force-confdef',
        '-o',
        'Dpkg::Options::=--force-confold',
        '-o',
        'Dpkg::Lock::Timeout=600',
        'dist-upgrade',
      ],
    ]);
    expect(p.steps[1]!.env).toEqual({
      DEBIAN_FRONTEND: 'noninteractive',
      NEEDRESTART_SUSPEND: '1',
      APT_LISTCHANGES_FRONTEND: 'none',
    });
    expect(p.reboot).toEqual({ kind: 'flag-file', path: '/tmp/r/var/run/reboot-required' });
    expect(patchPlan(host({}), 'all', '/s').reboot).toEqual({ kind: 'flag-file', path: '/var/run/reboot-required' });
    const sw = softwarePlan(host({}), 'install', ['htop', 'curl']);
    expect(sw.steps[0]!.args.slice(-3)).toEqual(['install', 'htop', 'curl']);
    expect(softwarePlan(host({}), 'remove', ['htop']).steps[0]!.args.slice(-2)).toEqual(['remove', 'htop']);
  });

  it('dnf and zypper: security scope, reboot by needs-restarting or exit 102, zypper 103 runs again', () => {
    const d = patchPlan(host({ manager: 'dnf' }), 'security', '/s');
    expect(d.steps.map((s) => [s.cmd, ...s.args])).toEqual([['dnf', '-y', 'upgrade', '--refresh', '--security']]);
    expect(d.reboot).toMatchObject({
      kind: 'exit-code',
      requiredCode: 1,
      step: { cmd: 'dnf', args: ['needs-restarting', '-r'] },
    });
    expect(softwarePlan(host({ manager: 'dnf' }), 'install', ['nginx']).steps[0]!.args).toEqual([
      '-y',
      'install',
      'nginx',
    ]);
    const z = patchPlan(host({ manager: 'zypper' }), 'security', '/s');
    expect(z.steps.map((s) => [s.cmd, ...s.args])).toEqual([
      ['zypper', '--non-interactive', 'refresh'],
      ['zypper', '--non-interactive', 'patch', '--auto-agree-with-licenses', '--category', 'security'],
    ]);
    expect(z.steps[1]).toMatchObject({ rebootCodes: [102], againCodes: [103] });
    expect(softwarePlan(host({ manager: 'zypper' }), 'install', ['vim']).steps[0]!.args).toEqual([
      '--non-interactive',
      'install',
      '--auto-agree-with-licenses',
      'vim',
    ]);
  });

  it('Windows: WUA through powershell.exe -File with the fixed flags; winget per package; scripts as .ps1', () => {
    const w = host({ platform: 'win32', manager: 'wua' });
    const p = patchPlan(w, 'all', 'C:\\ProgramData\\Outpost\\state\\jobs');
    expect(p.file).toMatchObject({ path: 'C:\\ProgramData\\Outpost\\state\\jobs\\wua.ps1', content: WUA_SCRIPT });
    expect([p.steps[0]!.cmd, ...p.steps[0]!.args]).toEqual([
      'powershell.exe',
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-File',
      'C:\\ProgramData\\Outpost\\state\\jobs\\wua.ps1',
    ]);
    expect(WUA_SCRIPT).toContain('CreateUpdateInstaller');
    expect(softwarePlan(w, 'install', ['Mozilla.Firefox']).steps[0]!.args).toEqual([
      'install',
      '--id',
      'Mozilla.Firefox',
      '--exact',
      '--silent',
      '--accept-package-agreements',
      '--accept-source-agreements',
      '--disable-interactivity',
    ]);
    const spec = {
      kind: 'script' as const,
      shell: 'powershell' as const,
      name: 'x',
      version: 1,
      body: 'dir',
      sha256: '',
      args: ['-Force'],
    };
    expect(scriptPlan(w, spec, 'C:\\j', 'jb_1').steps[0]!.args.slice(-2)).toEqual(['C:\\j\\jb_1.ps1', '-Force']);
    expect(() => scriptPlan(w, { ...spec, shell: 'shell' }, 'C:\\j', 'jb_1')).toThrow(Unsupported);
    expect(() => scriptPlan(host({}), spec, '/j', 'jb_1')).toThrow(Unsupported);
  });

  it('macOS softwareupdate; no package manager: refused as unsupported', () => {
    const m = patchPlan(host({ platform: 'darwin', manager: 'softwareupdate' }), 'all', '/s');
    expect([m.steps[0]!.cmd, ...m.steps[0]!.args]).toEqual([
      'softwareupdate',
      '--install',
      '--all',
      '--agree-to-license',
    ]);
    expect(() => softwarePlan(host({ platform: 'darwin', manager: 'softwareupdate' }), 'install', ['x'])).toThrow(
      Unsupported,
    );
    expect(() => patchPlan(host({ manager: undefined }), 'all', '/s')).toThrow(/no supported package manager/);
  });

  it('reboot: the command per OS, and when the policy reboots', () => {
    const r = { policy: 'forced' as const, delayMin: 10, message: 'Patching: restart in 10 minutes' };
    const linux = rebootCommand('linux', r);
    expect([linux.cmd, ...linux.args]).toEqual(['shutdown', '-r', '+10', 'Patching: restart in 10 minutes']);
    const win = rebootCommand('win32', r);
    expect([win.cmd, ...win.args]).toEqual([
      'shutdown.exe',
      '/r',
      '/t',
      '600',
      '/c',
      'Patching: restart in 10 minutes',
    ]);
    expect(shouldReboot('never', true, true)).toBe(false);
    expect(shouldReboot('if-required', false, true)).toBe(false);
    expect(shouldReboot('if-required', true, false)).toBe(true);
    expect(shouldReboot('forced', false, true)).toBe(true);
    expect(shouldReboot('forced', false, false)).toBe(false);
  });
});

describe('script signature', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  const body = 'echo hi\n';
  const sha256 = createHash('sha256').update(body).digest('hex');
  const spec = { kind: 'script' as const, shell: 'shell' as const, name: 'hello', version: 1, body, sha256, args: [] };
  const sig = sign(null, scriptSigningPayload('hello', sha256), privateKey).toString('base64url');

  it('verifies a signed script; refuses unsigned, forged, renamed or edited ones when signatures are required', () => {
    const trust = { requireSigned: true, publicKey: pub };
    expect(() => checkScript({ ...spec, signature: sig }, trust)).not.toThrow();
    expect(() => checkScript(spec, trust)).toThrow(expect.objectContaining({ code: 'OUTPOST_E_JOB_UNSIGNED_SCRIPT' }));
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = sign(null, scriptSigningPayload('hello', sha256), other).toString('base64url');
    expect(() => checkScript({ ...spec, signature: forged }, trust)).toThrow(
      expect.objectContaining({ code: 'OUTPOST_E_JOB_BAD_SIGNATURE' }),
    );
    expect(() => checkScript({ ...spec, name: 'renamed', signature: sig }, trust)).toThrow(/does not verify/);
    expect(() => checkScript({ ...spec, body: 'rm -rf /\n', signature: sig }, trust)).toThrow(/does not hash/);
    expect(() => checkScript(spec, { requireSigned: false, publicKey: undefined })).not.toThrow();
  });
});

describe('agent configuration of jobs', () => {
  const base = {
    server: 'https://collector.example:8443',
    agentId: `ag_${'0'.repeat(24)}`,
    clientId: 'cl_x',
    siteId: 'si_x',
    stateDir: '/var/lib/outpost',
  };
  const read = (extra: Record<string, unknown>) => {
    const file = join(temp(), 'agent.json');
    writeFileSync(file, JSON.stringify({ ...base, ...extra }));
    return () => readAgentConfig(file);
  };

  it('requiring signed scripts without the organisation key is refused at start, naming the key', () => {
    expect(read({ jobs: { requireSignedScripts: true } })).toThrow(
      expect.objectContaining({
        code: 'OUTPOST_E_CONFIG_INVALID',
        message: expect.stringMatching(/\/jobs\/scriptPublicKey/),
      }),
    );
    expect(read({ jobs: { requireSignedScripts: true, scriptPublicKey: 'short' } })).toThrow(
      expect.objectContaining({ code: 'OUTPOST_E_CONFIG_INVALID' }),
    );
    expect(read({ packages: { rootDir: 'relative/root' } })).toThrow(
      expect.objectContaining({ code: 'OUTPOST_E_CONFIG_INVALID' }),
    );
    expect(read({ jobs: { requireSignedScripts: true, scriptPublicKey: 'A'.repeat(43) } })()).toMatchObject({
      jobs: { requireSignedScripts: true },
    });
  });
});
