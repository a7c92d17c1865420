/**
 * `outpost-agent install`: the steps, in an order that makes a re-run resume where a failed run stopped and change
 * nothing when all is done. Copy the executable into `versions/<v>` (checked), keep or create the identity (enroll
 * once; the token is never written anywhere), write the service definition, flip `current`, enable and (re)start.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ENROLLMENT_TOKEN_PATTERN, normalizeFingerprint, OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import { type AgentConfig, readAgentConfig } from '../config/index.js';
import { enroll } from '../runtime/enroll.js';
import { removeLeftovers, type SourceExecutable, sourceExecutable, stageVersion } from './executable.js';
import { readIfExists, readLinkIfExists, swapLink, writeAtomic } from './files.js';
import { type InstallLayout, installLayout } from './layout.js';
import { takeInstallLock } from './lock.js';
import { liveService, type ServiceControl, stagedService } from './service.js';
import { type ServicePlan, servicePlan } from './steps.js';
import {
  normalizeRootSha256,
  pinnedReleaseRoot,
  type ReleaseRoot,
  readReleaseRoot,
  trustReleaseRoot,
} from './update-root.js';
import { compareVersions, isVersion } from './version.js';

/** What install needs. */
export interface InstallOptions {
  server: string;
  /** Needed only when the machine is not enrolled yet. */
  token?: string | undefined;
  caFingerprint?: string | undefined;
  /** The release root (1.root.json) to trust for self-update; kept as it is when not given. */
  updateRoot?: string | undefined;
  /**
   * Instead of a file: the SHA-256 of the release root, which is then fetched from the collector and trusted only if
   * it hashes to this (for installers that pass short values: MSI properties, package environment, one-liners).
   */
  updateRootSha256?: string | undefined;
  /** Allow an older version over a newer one, or another build of the installed version. */
  force?: boolean;
  /** The executable to copy (default: this single executable). */
  executable?: string | undefined;
  /** Prefix for every path; anything but '/' stages files only and starts nothing. */
  root?: string;
  platform?: NodeJS.Platform;
  logger: Logger;
}

/** What install did. */
export interface InstallResult {
  version: string;
  previousVersion: string | undefined;
  agentId: string;
  /** What changed, in words; empty when the same install was already complete. */
  changes: string[];
  layout: InstallLayout;
}

/** The layout and plan of this platform, or the coded refusal; and root is required for a real install. */
export function installTarget(root: string, platform: NodeJS.Platform): { layout: InstallLayout; plan: ServicePlan } {
  const layout = installLayout(root, platform);
  const plan = servicePlan(platform);
  if (!layout || !plan) {
    throw new OutpostError('OUTPOST_E_INSTALL_UNSUPPORTED', {
      message:
        platform === 'win32'
          ? 'On Windows the agent is installed by its MSI (msiexec /i outpost-agent.msi /qn SERVER=… TOKEN=…), which registers the service host'
          : `outpost-agent install registers a service on Linux (systemd) and macOS (launchd), not on ${platform}`,
      details: { platform },
    });
  }
  if (root === '/' && process.getuid?.() !== 0) {
    throw new OutpostError('OUTPOST_E_INSTALL_NOT_ROOT', {
      message: `Installing or removing the agent service needs root (running as uid ${process.getuid?.()}); run it with sudo`,
    });
  }
  return { layout, plan };
}

/** The service control for a real install ('/') or a staged tree. */
export function serviceControl(plan: ServicePlan, layout: InstallLayout, logger: Logger): ServiceControl {
  return layout.root === '/' ? liveService(plan, logger) : stagedService(plan, layout);
}

/** The command line, checked: the collector's origin, its certificate fingerprint and the pinned root hash. */
interface CheckedArguments {
  origin: string;
  caFingerprint: string | undefined;
  rootSha256: string | undefined;
}

/** Checks the command line before anything is touched: bad arguments are exit code 2 (1639), not a failure. */
function checkArguments(opts: InstallOptions): CheckedArguments {
  const bad = (message: string, cause?: unknown) =>
    new OutpostError('OUTPOST_E_INSTALL_ARGUMENTS', { message, ...(cause ? { cause } : {}) });
  let url: URL;
  try {
    url = new URL(opts.server);
  } catch (cause) {
    throw bad(`--server ${opts.server.slice(0, 200)} is not a URL (expected https://host:port)`, cause);
  }
  if (!['https:', 'wss:', 'http:', 'ws:'].includes(url.protocol) || !url.hostname)
    throw bad(`--server must be https://host:port, got ${opts.server.slice(0, 200)}`);
  let caFingerprint: string | undefined;
  try {
    caFingerprint = opts.caFingerprint ? normalizeFingerprint(opts.caFingerprint) : undefined;
  } catch (cause) {
    throw bad(`--ca-fingerprint: ${(cause as Error).message}`, cause);
  }
  if (opts.token !== undefined && !ENROLLMENT_TOKEN_PATTERN.test(opts.token.trim()))
    throw bad(
      `--token is not an enrollment token (${opts.token.trim().length} characters): expected oet_<12 hex digits>_<43 characters>`,
    );
  if (opts.updateRoot !== undefined && opts.updateRootSha256)
    throw bad('--update-root and --update-root-sha256 both name the release root: give one');
  const rootSha256 = opts.updateRootSha256 ? normalizeRootSha256(opts.updateRootSha256) : undefined;
  return { origin: url.origin, caFingerprint, rootSha256 };
}

/** The installed version (`current`'s target), or undefined. */
export function installedVersion(layout: InstallLayout): string | undefined {
  const target = readLinkIfExists(layout.currentLink);
  if (target === undefined) return undefined;
  const v = basename(target);
  return isVersion(v) ? v : undefined;
}

function readConfigIfValid(file: string): AgentConfig | undefined {
  try {
    return readAgentConfig(file);
  } catch (err) {
    if (
      err instanceof OutpostError &&
      (err.code === 'OUTPOST_E_NOT_ENROLLED' || err.code === 'OUTPOST_E_CONFIG_INVALID')
    )
      return undefined;
    throw err;
  }
}

/** Installs (or upgrades, or confirms) the agent as a service. See the file comment for the order. */
export async function install(opts: InstallOptions): Promise<InstallResult> {
  const root = opts.root ?? '/';
  const { layout, plan } = installTarget(root, opts.platform ?? process.platform);
  const args = checkArguments(opts);
  // The root is checked before anything changes: a wrong pinned hash leaves the machine as it was.
  const releaseRoot = await releaseRootToTrust(opts, layout, args);
  const log = opts.logger.child({ concern: 'install' });
  // Before the lock: a wrong --executable is a bad argument, whatever else is running.
  const source = await sourceExecutable(opts.executable);
  const release = takeInstallLock(layout.lockFile);
  try {
    const changes: string[] = [];
    removeLeftovers(layout);
    const previousVersion = installedVersion(layout);
    await stageExecutable(layout, source, previousVersion, opts.force ?? false, changes, log);
    const config = await ensureIdentity(opts, layout, args, changes, log);
    if (releaseRoot) changes.push(...trustReleaseRoot(layout, config, releaseRoot));
    tightenPermissions(layout);
    const definitionChanged = writeServiceFiles(plan, layout, source.version, changes);

    // Anything new (executable, definition, identity) needs a restart; otherwise only a stopped service is started.
    const restart = changes.length > 0;
    const service = serviceControl(plan, layout, log);
    if (await service.enable(definitionChanged)) changes.push('enabled at boot');
    if (await service.start(restart)) changes.push(restart ? 'service (re)started' : 'service started');

    pruneVersions(layout, source.version, previousVersion);
    log.info({ version: source.version, previousVersion, agentId: config.agentId, changes }, 'install complete');
    return { version: source.version, previousVersion, agentId: config.agentId, changes, layout };
  } finally {
    release();
  }
}

/** The release root to trust: the file given, the one the collector serves under the pinned hash, or none. */
async function releaseRootToTrust(
  opts: InstallOptions,
  layout: InstallLayout,
  args: CheckedArguments,
): Promise<ReleaseRoot | undefined> {
  if (opts.updateRoot !== undefined) return readReleaseRoot(opts.updateRoot);
  if (args.rootSha256 === undefined) return undefined;
  return pinnedReleaseRoot(layout, {
    server: args.origin,
    caFingerprint: args.caFingerprint ?? readConfigIfValid(layout.configFile)?.caFingerprint,
    sha256: args.rootSha256,
  });
}

/** Copies the executable into `versions/<v>`; an older one than installed needs --force. */
async function stageExecutable(
  layout: InstallLayout,
  source: SourceExecutable,
  previousVersion: string | undefined,
  force: boolean,
  changes: string[],
  log: Logger,
): Promise<void> {
  if (previousVersion && compareVersions(source.version, previousVersion) < 0 && !force) {
    throw new OutpostError('OUTPOST_E_INSTALL_DOWNGRADE', {
      message: `Version ${previousVersion} is installed; this executable is ${source.version} (older). Pass --force to install it anyway`,
      details: { installed: previousVersion, offered: source.version },
    });
  }
  mkdirSync(layout.installDir, { recursive: true, mode: 0o755 });
  if (await stageVersion(layout, source, force)) {
    changes.push(`copied version ${source.version}`);
    log.info({ version: source.version, from: source.path }, 'executable staged');
  }
}

/** Identity: an enrolled machine keeps its key, agent id and outbox; enroll happens once. */
async function ensureIdentity(
  opts: InstallOptions,
  layout: InstallLayout,
  args: CheckedArguments,
  changes: string[],
  log: Logger,
): Promise<AgentConfig> {
  const config = readConfigIfValid(layout.configFile);
  if (config && config.server !== args.origin) {
    throw new OutpostError('OUTPOST_E_INSTALL_FAILED', {
      message: `This machine is enrolled with ${config.server} (agent ${config.agentId}), not ${args.origin}; run \`outpost-agent uninstall --purge\` first to enroll it with another collector`,
      details: { file: layout.configFile, server: config.server },
    });
  }
  if (config) return config;
  if (!opts.token) {
    throw new OutpostError('OUTPOST_E_INSTALL_ARGUMENTS', {
      message: `This machine is not enrolled (${layout.configFile}): --token (or OUTPOST_ENROLL_TOKEN) is needed`,
    });
  }
  privateDir(layout.configDir);
  privateDir(layout.stateDir);
  const enrolled = await enroll({
    server: opts.server,
    token: opts.token,
    caFingerprint: args.caFingerprint,
    configFile: layout.configFile,
    stateDir: layout.stateDir,
    force: existsSync(layout.configFile), // an unreadable configuration is replaced
    logger: log,
  });
  changes.push(`enrolled as agent ${enrolled.agentId}`);
  return enrolled;
}

/** Owner-only, also when an older install or a hand edit left them wider. */
function tightenPermissions(layout: InstallLayout): void {
  privateDir(layout.configDir);
  chmodSync(layout.configFile, 0o600);
  if (existsSync(layout.updateRootFile)) chmodSync(layout.updateRootFile, 0o600);
  privateDir(layout.stateDir);
}

/** Writes the service definition and flips `current` when either differs; returns whether the definition changed. */
function writeServiceFiles(plan: ServicePlan, layout: InstallLayout, version: string, changes: string[]): boolean {
  const definition = plan.definition(layout);
  const definitionChanged = readIfExists(layout.serviceFile) !== definition;
  if (definitionChanged) {
    mkdirSync(dirname(layout.serviceFile), { recursive: true, mode: 0o755 });
    writeAtomic(layout.serviceFile, definition, 0o644);
    changes.push(`wrote ${plan.manager} definition ${layout.serviceFile}`);
  }
  const target = `versions/${version}`;
  if (readLinkIfExists(layout.currentLink) !== target) {
    swapLink(layout.currentLink, target);
    changes.push(`current → ${target}`);
  }
  return definitionChanged;
}

/** Makes `dir` 0700, creating the parents it needs 0755 (a staged /var must stay traversable). */
function privateDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Keeps the 3 newest versions, and always the current and the previous one (a rollback target). */
function pruneVersions(layout: InstallLayout, current: string, previous: string | undefined): void {
  const versions = readdirSync(layout.versionsDir)
    .filter(isVersion)
    .sort((a, b) => compareVersions(b, a));
  for (const v of versions.slice(3)) {
    if (v !== current && v !== previous) rmSync(join(layout.versionsDir, v), { recursive: true, force: true });
  }
}
