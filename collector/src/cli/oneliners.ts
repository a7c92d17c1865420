/**
 * The copy-paste installers `outpost installers create` prints: a POSIX shell line and a PowerShell line per platform
 * that fetch the agent from the collector's /install/ with the collector's key pinned, check the file's SHA-256
 * against the one printed here (from the manifest, at creation), and install silently. Pure text: every value that
 * enters a command is quoted for its shell, and names and hashes are checked against strict patterns first, since
 * they come from the collector's manifest.
 */
import { OutpostError } from '@outpost/shared';

/** What one installer line needs. */
export interface InstallerInput {
  /** Base URL of the collector's /install/ (the API listener), e.g. `https://collector:8443`. */
  downloadBase: string;
  /** The URL the agent enrolls with (the --server of the agent's install command). */
  agentServer: string;
  token: string;
  /** SHA-256 of the collector's certificate, as `--ca-fingerprint` takes it (AB:CD:…); absent without TLS. */
  caFingerprint: string | undefined;
  /** base64 SHA-256 of the certificate's public key (SubjectPublicKeyInfo), for curl's `--pinnedpubkey`. */
  spkiSha256: string | undefined;
  /** The manifest entry: file name and its SHA-256 (hex). */
  file: string;
  sha256: string;
  platform: string;
  /** Prefix the install with `sudo` (POSIX). */
  sudo: boolean;
  /** SHA-256 (hex) of the release root the agent is to trust for self-update, fetched from the collector. */
  updateRootSha256?: string | undefined;
}

const FILE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const B64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

/** Single-quotes a value for a POSIX shell. */
export function shQuote(v: string): string {
  return `'${v.replaceAll("'", `'\\''`)}'`;
}

/** Single-quotes a value for PowerShell (a quote inside is doubled; curly quotes count as quotes there). */
export function psQuote(v: string): string {
  return `'${v.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

function check(input: InstallerInput): void {
  const bad = (what: string) =>
    new OutpostError('OUTPOST_E_INSTALLER_UNAVAILABLE', {
      message: `The collector's manifest has an unusable ${what}`,
      details: { file: input.file.slice(0, 200) },
    });
  if (!FILE.test(input.file)) throw bad('file name');
  if (!HEX64.test(input.sha256)) throw bad('SHA-256');
  if (input.spkiSha256 !== undefined && !B64_SHA256.test(input.spkiSha256)) throw bad('key pin');
  if (input.updateRootSha256 !== undefined && !HEX64.test(input.updateRootSha256)) throw bad('release root hash');
}

/** The download URL of a manifest file. */
export function fileUrl(input: Pick<InstallerInput, 'downloadBase' | 'file'>): string {
  return new URL(`/install/${encodeURIComponent(input.file)}`, input.downloadBase).toString();
}

/** True for platforms installed with the PowerShell line. */
export const isWindows = (platform: string) => platform.startsWith('win');

/**
 * The POSIX line: in a subshell (the caller's directory and options stay), a private temp directory, curl with the
 * collector's public key pinned (`--insecure` only drops CA validation: curl still refuses any other key; the
 * generated certificate is self-signed), the SHA-256 checked before the file is made executable, then the silent
 * install. Any failing step stops the line with a non-zero status.
 */
export function posixLine(input: InstallerInput): string {
  check(input);
  const tls = input.downloadBase.startsWith('https:');
  const curl = [
    'curl -fsSL --proto =https,http',
    tls && input.spkiSha256 ? `--insecure --pinnedpubkey ${shQuote(`sha256//${input.spkiSha256}`)}` : '',
    `-o outpost-agent ${shQuote(fileUrl(input))}`,
  ]
    .filter(Boolean)
    .join(' ');
  const sum = input.platform.startsWith('darwin') ? 'shasum -a 256 -c -' : 'sha256sum -c -';
  const install = [
    input.sudo ? 'sudo ./outpost-agent install' : './outpost-agent install',
    `--server ${shQuote(input.agentServer)}`,
    `--token ${shQuote(input.token)}`,
    input.caFingerprint ? `--ca-fingerprint ${shQuote(input.caFingerprint)}` : '',
    input.updateRootSha256 ? `--update-root-sha256 ${input.updateRootSha256}` : '',
    '--silent',
  ]
    .filter(Boolean)
    .join(' ');
  return [
    '(set -eu',
    'd=$(mktemp -d)',
    `trap 'rm -rf "$d"' EXIT`,
    'cd "$d"',
    curl,
    `echo ${shQuote(`${input.sha256}  outpost-agent`)} | ${sum}`,
    'chmod 700 outpost-agent',
    `${install})`,
  ].join('; ');
}

/**
 * The PowerShell line (run in an elevated PowerShell): the certificate checked by a validation callback comparing
 * its SHA-256 with the pinned fingerprint (the same value `--ca-fingerprint` takes), the download's hash compared with
 * Get-FileHash before anything runs, then `msiexec /i … /qn SERVER=… TOKEN=… CA_FINGERPRINT=…` for an .msi or the
 * executable's silent `install`; the line exits with the installer's exit code (0, 3010…).
 */
export function powershellLine(input: InstallerInput): string {
  check(input);
  const msi = input.file.toLowerCase().endsWith('.msi');
  const local = msi ? 'outpost-agent.msi' : 'outpost-agent.exe';
  const parts = [
    "$ErrorActionPreference='Stop'",
    '[Net.ServicePointManager]::SecurityProtocol=[Net.SecurityProtocolType]::Tls12',
  ];
  if (input.caFingerprint) {
    parts.push(
      `$fp=${psQuote(input.caFingerprint)}`,
      "[Net.ServicePointManager]::ServerCertificateValidationCallback={param($s,$c,$ch,$e) ([BitConverter]::ToString([Security.Cryptography.SHA256]::Create().ComputeHash($c.GetRawCertData())) -replace '-',':') -eq $fp}",
    );
  }
  parts.push(
    `$f=Join-Path ([IO.Path]::GetTempPath()) ${psQuote(local)}`,
    `(New-Object Net.WebClient).DownloadFile(${psQuote(fileUrl(input))},$f)`,
    '[Net.ServicePointManager]::ServerCertificateValidationCallback=$null',
    `if((Get-FileHash -Algorithm SHA256 $f).Hash -ne ${psQuote(input.sha256.toUpperCase())}){Remove-Item $f; throw 'SHA-256 mismatch: not installing'}`,
  );
  if (msi) {
    const props: [string, string][] = [
      ['SERVER', input.agentServer],
      ['TOKEN', input.token],
      ...(input.caFingerprint ? [['CA_FINGERPRINT', input.caFingerprint] as [string, string]] : []),
      ...(input.updateRootSha256 ? [['UPDATE_ROOT_SHA256', input.updateRootSha256] as [string, string]] : []),
    ];
    // msiexec reads PROPERTY="value"; a value holding a double quote could not be passed intact.
    if (props.some(([, v]) => /["\r\n]/.test(v)))
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
        message: 'A quote in the server URL or token cannot be passed to msiexec',
      });
    parts.push(
      `$p=Start-Process msiexec.exe -Wait -PassThru -ArgumentList @('/i',('"'+$f+'"'),'/qn',${props.map(([k, v]) => psQuote(`${k}="${v}"`)).join(',')})`,
      'exit $p.ExitCode',
    );
  } else {
    const args = [
      'install',
      '--server',
      input.agentServer,
      '--token',
      input.token,
      ...(input.caFingerprint ? ['--ca-fingerprint', input.caFingerprint] : []),
      ...(input.updateRootSha256 ? ['--update-root-sha256', input.updateRootSha256] : []),
      '--silent',
    ];
    parts.push(`& $f ${args.map(psQuote).join(' ')}`, 'exit $LASTEXITCODE');
  }
  return parts.join('; ');
}
