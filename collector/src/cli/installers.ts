/**
 * `outpost installers create --site S --expires-in 7d [--platform p …]`: creates an enrollment token for the site
 * (the token concern's API) and prints, per platform the collector serves, one-liners that download the agent from
 * the collector with its key pinned, check the SHA-256 and install silently (cli/oneliners.ts).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { checkPinnedCertificate, fingerprintOfDer, OutpostError, untrustedCertificateError } from '@outpost/shared';
import { type Command, InvalidArgumentError } from 'commander';
import { api } from './api.js';
import { type ApiTarget, collectorUrl } from './client.js';
import { commandTarget } from './credentials.js';
import { count } from './flags.js';
import { type InstallerInput, isWindows, posixLine, powershellLine } from './oneliners.js';
import { printJson, say, when } from './output.js';

interface ManifestFile {
  file: string;
  platform: string;
  sha256: string;
  size: number;
}

/** The collector's certificate as the one-liners pin it. */
export interface CollectorKey {
  fingerprint: string;
  spkiSha256: string;
}

/**
 * Reads the collector's certificate over TLS: checked against the pinned fingerprint when there is one (the CLI's
 * `--ca-fingerprint` / login), else validated against the system CAs. Returns its fingerprint and key pin.
 */
export async function collectorKey(target: ApiTarget): Promise<CollectorKey> {
  const url = collectorUrl(target.server);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = connect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: !target.caFingerprint,
      timeout: 15_000,
    });
    s.once('secureConnect', () => resolve(s));
    s.once('timeout', () => s.destroy(new Error('TLS handshake timed out')));
    s.once('error', (err) =>
      reject(
        untrustedCertificateError(err, url.origin) ??
          new OutpostError('OUTPOST_E_UNAVAILABLE', {
            cause: err,
            message: `Cannot reach ${url.origin}: ${err.message}`,
          }),
      ),
    );
  });
  try {
    if (target.caFingerprint) {
      const mismatch = checkPinnedCertificate(socket, target.caFingerprint);
      if (mismatch) throw mismatch;
    }
    const raw = socket.getPeerCertificate().raw;
    const spki = new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' });
    return { fingerprint: fingerprintOfDer(raw), spkiSha256: createHash('sha256').update(spki).digest('base64') };
  } finally {
    socket.destroy();
  }
}

/** The file installed on each platform: Windows prefers the .msi, POSIX the executable itself. */
export function pickInstallers(files: ManifestFile[], platforms: string[] | undefined): ManifestFile[] {
  const byPlatform = new Map<string, ManifestFile>();
  const rank = (f: ManifestFile) =>
    isWindows(f.platform)
      ? f.file.endsWith('.msi')
        ? 2
        : f.file.endsWith('.exe')
          ? 1
          : 0
      : /^outpost-agent-[^.]+$/.test(f.file)
        ? 1
        : 0;
  for (const f of files) {
    if (rank(f) === 0) continue;
    const seen = byPlatform.get(f.platform);
    if (!seen || rank(f) > rank(seen)) byPlatform.set(f.platform, f);
  }
  const wanted = platforms?.length ? platforms : [...byPlatform.keys()].sort();
  const missing = wanted.filter((p) => !byPlatform.has(p));
  if (missing.length || wanted.length === 0)
    throw new OutpostError('OUTPOST_E_INSTALLER_UNAVAILABLE', {
      message: missing.length
        ? `The collector serves no installer for ${missing.join(', ')} (it has: ${[...byPlatform.keys()].sort().join(', ') || 'none'})`
        : 'The collector serves no agent installer',
      details: { missing, available: [...byPlatform.keys()].sort() },
    });
  return wanted.map((p) => byPlatform.get(p)!);
}

const platformArg = (v: string, prev: string[] = []) => {
  const list = v.split(',').map((s) => s.trim());
  if (list.some((p) => !/^[a-z0-9]+-[a-z0-9]+$/.test(p)))
    throw new InvalidArgumentError('expected platforms such as linux-x64, linux-arm64, win-x64, darwin-x64');
  return [...prev, ...list];
};

/** Adds `outpost installers …`. */
export function addInstallerCommands(program: Command, parseDurationHours: (v: string) => number): void {
  const installers = program.command('installers').description('One-line agent installers for a site.');
  installers
    .command('create')
    .description(
      'Create an enrollment token for a site and print one-liners (shell and PowerShell) that download the agent from this collector with its certificate pinned, check its SHA-256 and install it silently.',
    )
    .requiredOption('--site <siteId>', 'site the agents join')
    .option('--expires-in <duration>', 'validity of the token, e.g. 12h or 7d', parseDurationHours, 24 * 7)
    .option('--max-uses <n>', 'how many agents may enroll with the token', count, 100)
    .option(
      '--platform <platform>',
      'only these platforms (repeat or comma-separate): linux-x64, win-x64…',
      platformArg,
    )
    .option('--agent-server <url>', 'the URL agents connect to (default: the collector URL of this CLI)')
    .option('--no-sudo', 'the POSIX line runs the install without sudo (for a root shell)')
    .option(
      '--update-root-sha256 <hex>',
      "the release root's SHA-256 as `release keys init` printed it (default: the collector's, when you may read releases); a collector serving another root is refused",
    )
    .action(async function (
      this: Command,
      o: {
        site: string;
        expiresIn: number;
        maxUses: number;
        platform?: string[];
        agentServer?: string;
        sudo: boolean;
        updateRootSha256?: string;
      },
    ) {
      const target = commandTarget(this);
      const base = collectorUrl(target.server);
      const agentServer = o.agentServer ? collectorUrl(o.agentServer).toString().replace(/\/$/, '') : base.origin;
      // The manifest first: a platform the collector cannot serve costs no token.
      const manifest = await api(target, 'GET /install/manifest.json');
      const chosen = pickInstallers(manifest.files, o.platform);
      const key = base.protocol === 'https:' ? await collectorKey(target) : undefined;
      const root = await releaseRoot(target, o.updateRootSha256);
      const created = await api(target, 'POST /api/v1/enrollment-tokens', {
        body: { siteId: o.site, expiresInHours: o.expiresIn, maxUses: o.maxUses, note: 'outpost installers create' },
      });
      const lines = chosen.map((f) =>
        installerLine(f, {
          downloadBase: base.origin,
          agentServer,
          token: created.token,
          caFingerprint: key?.fingerprint,
          spkiSha256: key?.spkiSha256,
          sudo: o.sudo,
          updateRootSha256: root,
        }),
      );
      const report = { site: o.site, token: created.info, agentServer, key, root, lines };
      printInstallers(report, this.optsWithGlobals<{ json?: boolean }>().json === true);
    });
}

/** One platform's installer: its file, hash, and the shell or PowerShell line. */
interface InstallerLine {
  platform: string;
  file: string;
  sha256: string;
  shell?: string;
  powershell?: string;
}

/** The one-liner for one served file (PowerShell on Windows, shell elsewhere). */
function installerLine(f: ManifestFile, common: Omit<InstallerInput, 'file' | 'sha256' | 'platform'>): InstallerLine {
  const input: InstallerInput = { ...common, file: f.file, sha256: f.sha256, platform: f.platform };
  return {
    platform: f.platform,
    file: f.file,
    sha256: f.sha256,
    ...(isWindows(f.platform) ? { powershell: powershellLine(input) } : { shell: posixLine(input) }),
  };
}

/** What `installers create` prints: the token, the pins, and one line per platform (or all of it as JSON). */
function printInstallers(
  r: {
    site: string;
    token: { id: string; expiresAt: number; maxUses: number };
    agentServer: string;
    key: CollectorKey | undefined;
    root: string | undefined;
    lines: InstallerLine[];
  },
  json: boolean,
): void {
  const { key, root } = r;
  if (json) {
    printJson({
      token: { id: r.token.id, siteId: r.site, expiresAt: r.token.expiresAt, maxUses: r.token.maxUses },
      server: r.agentServer,
      certificate: key ?? null,
      releaseRootSha256: root ?? null,
      installers: r.lines,
    });
    return;
  }
  say`Enrollment token ${r.token.id} for site ${r.site}: ${r.token.maxUses} use(s), expires ${when(r.token.expiresAt)}.\n`;
  if (key) say`Collector certificate SHA-256 ${key.fingerprint} (public key pin sha256//${key.spkiSha256}).\n`;
  else say`Warning: the collector serves plain HTTP; the downloads are checked by hash only.\n`;
  if (root) say`Agents will trust the release root with SHA-256 ${root} (check it against \`release keys init\`'s).\n`;
  else
    say`No release root pinned (none published yet, or not readable by you): agents will refuse self-updates until \`install --update-root\`.\n`;
  for (const l of r.lines) {
    if (l.shell !== undefined) say`\n# ${l.platform} (shell, as a user who may sudo):\n${l.shell}\n`;
    else say`\n# ${l.platform} (elevated PowerShell):\n${l.powershell}\n`;
  }
}

/**
 * The release root hash the lines pin: the one given (checked against what the collector trusts, when readable), else
 * the collector's; undefined when there is none or the caller may not read releases.
 */
async function releaseRoot(target: ApiTarget, given: string | undefined): Promise<string | undefined> {
  const pinned = given
    ?.trim()
    .replace(/^sha256:/i, '')
    .toLowerCase();
  if (pinned !== undefined && !/^[0-9a-f]{64}$/.test(pinned))
    throw new InvalidArgumentError(`--update-root-sha256 must be 64 hex digits, got ${given!.slice(0, 80)}`);
  const served = await api(target, 'GET /api/v1/releases').then(
    (s) => s.rootSha256 ?? undefined,
    (err: unknown) => {
      if (err instanceof OutpostError && err.code === 'OUTPOST_E_FORBIDDEN') return undefined;
      throw err;
    },
  );
  if (pinned !== undefined && served !== undefined && served !== pinned)
    throw new OutpostError('OUTPOST_E_INSTALL_UPDATE_ROOT', {
      message: `The collector trusts the release root ${served}, not ${pinned}: agents installed by these lines would refuse it; no token was created`,
    });
  return pinned ?? served;
}
