/**
 * `outpost serve --install-service` / `--uninstall-service`: puts the packaged collector in place as a systemd
 * service (the executable in /opt/outpost-collector, the agent installers it ships beside it, the configuration in
 * /etc/outpost/collector.json, the unit), then enables and starts it. Idempotent: every step compares what is there
 * and reports `unchanged`; an existing configuration is never overwritten. `root` prefixes every path (tests, image
 * builds) and then no systemctl runs.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OutpostError } from '@outpost/shared';
import { checkSettings, readSettingsFile } from '../config.js';
import { collectorUnit, SERVICE_LAYOUT } from './unit.js';

/** One step and what it did. */
export interface StepResult {
  step: string;
  path: string;
  outcome: 'created' | 'updated' | 'unchanged' | 'removed' | 'absent' | 'kept' | 'skipped' | 'ran';
}

/** What the install takes. */
export interface InstallOptions {
  /** Prefix for every path ('' or '/' for the real system). */
  root: string;
  /** The executable to install (the running single executable). */
  executable: string;
  /** An installers directory with manifest.json to ship beside the executable, if any. */
  packagesDir: string | undefined;
  /** Listen settings for a new configuration (an existing one is kept). */
  host: string | undefined;
  port: number | undefined;
  /** Runs systemctl; absent when a root prefix is given. */
  systemctl: ((args: string[]) => void) | undefined;
}

const serviceError = (step: string, cause: unknown, path?: string) =>
  new OutpostError('OUTPOST_E_SERVICE_INSTALL', {
    cause,
    message: `${step}${path ? ` (${path})` : ''}: ${cause instanceof Error ? cause.message : String(cause)}`,
    details: { step, ...(path ? { path } : {}) },
  });

const at = (root: string, p: string) => (root && root !== '/' ? join(root, p) : p);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fileSha = (p: string) => (existsSync(p) ? sha(readFileSync(p)) : undefined);

/** Writes `bytes` to `path` atomically (temp, rename: a running executable keeps its old inode) unless identical. */
function place(step: string, path: string, bytes: Buffer, mode: number): StepResult {
  try {
    const before = fileSha(path);
    if (before === sha(bytes)) {
      chmodSync(path, mode);
      return { step, path, outcome: 'unchanged' };
    }
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
    writeFileSync(tmp, bytes, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
    return { step, path, outcome: before === undefined ? 'created' : 'updated' };
  } catch (err) {
    throw serviceError(step, err, path);
  }
}

/** The lowest port a configuration listens on. */
function lowestPort(configFile: string): number {
  const s = checkSettings(readSettingsFile(configFile), configFile);
  return Math.min(s.api.port, s.agents?.port ?? s.api.port);
}

/** Installs (or brings up to date) the collector service. */
export function installService(opts: InstallOptions): StepResult[] {
  const L = SERVICE_LAYOUT;
  const r = (p: string) => at(opts.root, p);
  const steps: StepResult[] = [];
  let exe: Buffer;
  try {
    exe = readFileSync(opts.executable);
  } catch (err) {
    throw serviceError('read the executable', err, opts.executable);
  }
  steps.push(place('executable', r(L.executable), exe, 0o755));

  if (opts.packagesDir && existsSync(join(opts.packagesDir, 'manifest.json'))) {
    // Only the files the manifest lists, checked against their hash: the collector serves nothing else.
    const manifestBytes = readFileSync(join(opts.packagesDir, 'manifest.json'));
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as { files?: { file: string; sha256: string }[] };
    for (const f of manifest.files ?? []) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/.test(f.file)) throw serviceError('installers', `bad name ${f.file}`);
      const bytes = readFileSync(join(opts.packagesDir, f.file));
      if (sha(bytes) !== f.sha256) throw serviceError('installers', 'SHA-256 differs from manifest.json', f.file);
      steps.push(place('installer', r(join(L.packagesDir, f.file)), bytes, 0o644));
    }
    steps.push(place('installers manifest', r(join(L.packagesDir, 'manifest.json')), manifestBytes, 0o644));
  } else {
    steps.push({ step: 'installers', path: opts.packagesDir ?? '-', outcome: 'skipped' });
  }

  const configFile = r(L.configFile);
  if (existsSync(configFile)) {
    // The operator's file wins; it must still be valid, or the service would not start.
    lowestPort(configFile);
    steps.push({ step: 'configuration', path: configFile, outcome: 'kept' });
  } else {
    const config = {
      dataDir: L.dataDir,
      api: { host: opts.host ?? '0.0.0.0', port: opts.port ?? 8443 },
      installers: { dir: L.packagesDir },
    };
    checkSettings(structuredClone(config), 'the new configuration');
    mkdirSync(dirname(configFile), { recursive: true, mode: 0o755 });
    // Root only: systemd hands it to the dynamic user through LoadCredential.
    steps.push(place('configuration', configFile, Buffer.from(`${JSON.stringify(config, null, 2)}\n`), 0o600));
  }

  const unit = place('unit', r(L.unitFile), Buffer.from(collectorUnit({ lowestPort: lowestPort(configFile) })), 0o644);
  steps.push(unit);

  if (opts.systemctl) {
    const changed = steps.some((s) => s.outcome === 'created' || s.outcome === 'updated');
    opts.systemctl(['daemon-reload']);
    opts.systemctl(['enable', L.unitName]);
    opts.systemctl([changed ? 'restart' : 'start', L.unitName]);
    steps.push({
      step: changed ? 'systemctl enable, restart' : 'systemctl enable, start',
      path: L.unitName,
      outcome: 'ran',
    });
  }
  return steps;
}

/** Stops and removes the service; the configuration and data stay unless `purge`. */
export function uninstallService(opts: {
  root: string;
  purge: boolean;
  systemctl: ((args: string[]) => void) | undefined;
}): StepResult[] {
  const L = SERVICE_LAYOUT;
  const r = (p: string) => at(opts.root, p);
  const steps: StepResult[] = [];
  if (opts.systemctl && existsSync(r(L.unitFile))) {
    opts.systemctl(['disable', '--now', L.unitName]);
    steps.push({ step: 'systemctl disable --now', path: L.unitName, outcome: 'ran' });
  }
  const remove = (step: string, p: string) => {
    const path = r(p);
    const there = existsSync(path);
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (err) {
      throw serviceError(step, err, path);
    }
    steps.push({ step, path, outcome: there ? 'removed' : 'absent' });
  };
  remove('unit', L.unitFile);
  if (opts.systemctl) opts.systemctl(['daemon-reload']);
  remove('executable and installers', L.installDir);
  if (opts.purge) {
    remove('configuration', L.configFile);
    // DynamicUser keeps the real directories under private/, the public paths are symlinks to them.
    remove('data', L.dataDir);
    remove('data', `/var/lib/private/${L.stateName}`);
    remove('cache', L.cacheDir);
    remove('cache', `/var/cache/private/${L.stateName}`);
  } else {
    steps.push({ step: 'configuration and data', path: `${L.configFile}, ${L.dataDir}`, outcome: 'kept' });
  }
  return steps;
}

/** systemctl on the real system; a failure is a coded error naming the command. */
export function runSystemctl(args: string[]): void {
  const res = spawnSync('systemctl', args, { encoding: 'utf8' });
  if (res.error || res.status !== 0)
    throw serviceError(
      `systemctl ${args.join(' ')}`,
      res.error ?? new Error(res.stderr.trim() || `exit ${res.status}`),
    );
}

/** Refuses to touch the real system without root. */
export function requireRoot(root: string): void {
  if ((root === '' || root === '/') && process.getuid?.() !== 0)
    throw new OutpostError('OUTPOST_E_SERVICE_INSTALL', {
      message: 'Installing the collector service needs root (run it with sudo)',
      details: { step: 'check root' },
    });
  if (process.platform !== 'linux')
    throw new OutpostError('OUTPOST_E_SERVICE_INSTALL', {
      message: 'The collector service is a systemd unit: Linux only',
      details: { step: 'check platform' },
    });
}
