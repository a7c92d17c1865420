/**
 * The .msi (msitools' wixl): outpost-svc.exe as the OutpostAgent service (auto start, LocalSystem), the agent under
 * versions\<version>\, current.json, MajorUpgrade, and the SERVER, TOKEN, CA_FINGERPRINT, UPDATE_ROOT_SHA256
 * properties written to HKLM\SOFTWARE\Outpost for the agent's first start (agent/src/runtime/registry-enrollment.ts),
 * TOKEN hidden from logs. wixl has no Permission element, so the ACLs (SYSTEM and Administrators only, on %ProgramData%\Outpost and
 * on the registry key) are added afterwards as an MsiLockPermissionsEx table with msibuild. Codes (product,
 * package, components) are derived from the inputs, so a rebuild gives the same bytes and a new version a new
 * product (which MajorUpgrade replaces). docs/0009-packaging.md, "Installers".
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InstallerInput, requireTool, run, sha256File } from './common.js';

/** Fixed forever: it is how Windows Installer knows a new version replaces an old one. */
export const UPGRADE_CODE = '{6F3C2B1A-8E0D-4B7F-9C21-5A4D3E2F1B0C}';
export const SERVICE_NAME = 'OutpostAgent';

/** A GUID derived from a name (SHA-256, shaped as a version-5-style UUID): stable across builds. */
function guid(name: string): string {
  const h = createHash('sha256').update(`outpost-msi:${name}`).digest('hex');
  const v = `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return `{${v.toUpperCase()}}`;
}

/** MSI ProductVersion: numeric major.minor.patch (a pre-release suffix cannot be expressed and is dropped). */
export function msiVersion(version: string): string {
  const m = /^([0-9]+)\.([0-9]+)\.([0-9]+)/.exec(version);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255 || Number(m[3]) > 65535) {
    throw new Error(`version ${version} cannot be an MSI ProductVersion (major ≤ 255, minor ≤ 255, patch ≤ 65535)`);
  }
  return `${m[1]}.${m[2]}.${m[3]}`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The WiX source for wixl. */
export function wxs(o: {
  version: string;
  agentExe: string;
  svcExe: string;
  currentJson: string;
  packageCode: string;
}) {
  const v = msiVersion(o.version);
  return `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="${guid(`product:${o.version}`)}" Name="Outpost Agent" Language="1033" Version="${v}" Manufacturer="Outpost" UpgradeCode="${UPGRADE_CODE}">
    <Package Id="${o.packageCode}" InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Description="Outpost Agent ${esc(o.version)}" Comments="Outpost RMM agent and its Windows service host" Manufacturer="Outpost" />
    <MajorUpgrade DowngradeErrorMessage="A newer Outpost Agent is already installed." />
    <Media Id="1" Cabinet="outpost.cab" EmbedCab="yes" />
    <Property Id="MsiHiddenProperties" Value="TOKEN" />
    <Property Id="ARPNOMODIFY" Value="1" />
    <Condition Message="SERVER and TOKEN are given together (msiexec /i outpost-agent.msi /qn SERVER=https://… TOKEN=… CA_FINGERPRINT=…), or neither.">Installed OR (SERVER AND TOKEN) OR (NOT SERVER AND NOT TOKEN)</Condition>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Outpost">
          <Component Id="ServiceHost" Guid="${guid('component:service-host')}" Win64="yes">
            <File Id="OutpostSvcExe" Name="outpost-svc.exe" Source="${esc(o.svcExe)}" KeyPath="yes" />
            <ServiceInstall Id="OutpostAgentService" Name="${SERVICE_NAME}" DisplayName="Outpost Agent" Description="Reports this machine to its Outpost collector (outpost-svc.exe runs versions\\&lt;version&gt;\\outpost-agent.exe)." Type="ownProcess" Start="auto" ErrorControl="normal" Account="LocalSystem" Vital="yes" />
            <ServiceControl Id="OutpostAgentControl" Name="${SERVICE_NAME}" Start="install" Stop="both" Remove="uninstall" Wait="yes" />
          </Component>
          <Component Id="Pointer" Guid="${guid('component:current-json')}" Win64="yes">
            <File Id="CurrentJson" Name="current.json" Source="${esc(o.currentJson)}" KeyPath="yes" />
          </Component>
          <Directory Id="VersionsDir" Name="versions">
            <Directory Id="VersionDir" Name="${esc(o.version)}">
              <Component Id="Agent" Guid="${guid(`component:agent:${o.version}`)}" Win64="yes">
                <File Id="AgentExe" Name="outpost-agent.exe" Source="${esc(o.agentExe)}" KeyPath="yes" />
              </Component>
            </Directory>
          </Directory>
        </Directory>
      </Directory>
      <Directory Id="CommonAppDataFolder">
        <Directory Id="DATADIR" Name="Outpost">
          <Component Id="DataDir" Guid="${guid('component:data-dir')}" Win64="yes">
            <CreateFolder />
          </Component>
        </Directory>
      </Directory>
      <Component Id="Enrollment" Guid="${guid('component:enrollment')}" Win64="yes">
        <RegistryKey Root="HKLM" Key="SOFTWARE\\Outpost">
          <RegistryValue Id="RegServer" Name="Server" Type="string" Value="[SERVER]" KeyPath="yes" />
          <RegistryValue Id="RegToken" Name="Token" Type="string" Value="[TOKEN]" />
          <RegistryValue Id="RegCaFingerprint" Name="CaFingerprint" Type="string" Value="[CA_FINGERPRINT]" />
          <RegistryValue Id="RegUpdateRootSha256" Name="UpdateRootSha256" Type="string" Value="[UPDATE_ROOT_SHA256]" />
        </RegistryKey>
      </Component>
    </Directory>
    <Feature Id="Complete" Title="Outpost Agent" Level="1">
      <ComponentRef Id="ServiceHost" />
      <ComponentRef Id="Pointer" />
      <ComponentRef Id="Agent" />
      <ComponentRef Id="DataDir" />
      <ComponentRef Id="Enrollment" />
    </Feature>
  </Product>
</Wix>
`;
}

/**
 * SYSTEM and Administrators only (protected DACL, inherited by what is created below): the data directory, where
 * the agent keeps its key and configuration, and the registry key holding the enrollment token until first start.
 */
export const LOCKS: [id: string, object: string, table: string, sddl: string][] = [
  ['LockDataDir', 'DATADIR', 'CreateFolder', 'D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)'],
  ['LockRegServer', 'RegServer', 'Registry', 'D:PAI(A;CI;KA;;;SY)(A;CI;KA;;;BA)'],
  ['LockRegToken', 'RegToken', 'Registry', 'D:PAI(A;CI;KA;;;SY)(A;CI;KA;;;BA)'],
  ['LockRegCaFingerprint', 'RegCaFingerprint', 'Registry', 'D:PAI(A;CI;KA;;;SY)(A;CI;KA;;;BA)'],
  ['LockRegUpdateRootSha256', 'RegUpdateRootSha256', 'Registry', 'D:PAI(A;CI;KA;;;SY)(A;CI;KA;;;BA)'],
];

/** What wixl cannot say, said in SQL on its output. */
const FIXUPS_SQL = [
  // No component conditions in wixl: the registry values are written only when SERVER and TOKEN were given.
  "UPDATE `Component` SET `Condition` = 'SERVER AND TOKEN' WHERE `Component` = 'Enrollment'",
  // Public properties reach the elevated (server-side) install only when listed as secure, as under GPO/Intune.
  "UPDATE `Property` SET `Value` = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;SERVER;TOKEN;CA_FINGERPRINT;UPDATE_ROOT_SHA256' WHERE `Property` = 'SecureCustomProperties'",
  // wixl leaves a trailing separator on registry keys.
  "UPDATE `Registry` SET `Key` = 'SOFTWARE\\Outpost' WHERE `Component_` = 'Enrollment'",
];

/**
 * Sets the summary information's Created and Last Saved times (stamped by wixl with the wall clock, whatever
 * SOURCE_DATE_EPOCH says) to `epoch`: each is a VT_FILETIME (type 0x40, then 100 ns since 1601) inside the window
 * of the build; exactly two must be found, or the format changed and the build says so.
 */
export function pinSummaryTimes(file: string, epoch: number, fromMs: number, toMs: number): void {
  const b = readFileSync(file);
  const ft = (ms: number) => (BigInt(ms) + 11_644_473_600_000n) * 10_000n;
  const lo = ft(fromMs);
  const hi = ft(toMs);
  let patched = 0;
  for (let off = 0; off + 12 <= b.length; off += 4) {
    if (b.readUInt32LE(off) !== 0x40) continue;
    const v = b.readBigUInt64LE(off + 4);
    if (v < lo || v > hi) continue;
    b.writeBigUInt64LE(ft(epoch * 1000), off + 4);
    patched++;
  }
  if (patched !== 2) throw new Error(`${file}: expected 2 summary times to pin, found ${patched}`);
  writeFileSync(file, b);
}

/** Builds outpost-agent-<version>-x64.msi from the agent and the service host; returns its path. */
export function buildMsi(input: InstallerInput & { serviceHost: string }): string {
  if (input.platform !== 'win-x64') throw new Error(`no .msi for ${input.platform}`);
  requireTool('wixl', 'wixl');
  requireTool('msibuild', 'msitools', '--help');
  const work = mkdtempSync(join(tmpdir(), 'outpost-msi-'));
  try {
    const currentJson = join(work, 'current.json');
    writeFileSync(currentJson, `${JSON.stringify({ version: input.version })}\n`);
    const agentExe = join(work, 'outpost-agent.exe');
    const svcExe = join(work, 'outpost-svc.exe');
    copyFileSync(input.executable, agentExe);
    copyFileSync(input.serviceHost, svcExe);
    for (const f of [currentJson, agentExe, svcExe]) utimesSync(f, input.epoch, input.epoch);
    const packageCode = guid(
      `package:${input.version}:${sha256File(agentExe)}:${sha256File(svcExe)}:${sha256File(currentJson)}`,
    );
    // Relative sources: no build path enters the package.
    writeFileSync(
      join(work, 'outpost.wxs'),
      wxs({
        version: input.version,
        agentExe: 'outpost-agent.exe',
        svcExe: 'outpost-svc.exe',
        currentJson: 'current.json',
        packageCode,
      }),
    );
    const env = { ...process.env, SOURCE_DATE_EPOCH: String(input.epoch), TZ: 'UTC', LC_ALL: 'C' };
    const started = Date.now();
    run('wixl', ['--arch', 'x64', '-o', 'outpost.msi', 'outpost.wxs'], { cwd: work, env });
    const idt = [
      'MsiLockPermissionsEx\tLockObject\tTable\tSDDLText\tCondition',
      's72\ts72\ts32\ts0\tS255',
      'MsiLockPermissionsEx\tMsiLockPermissionsEx',
      ...LOCKS.map((l) => `${l.join('\t')}\t`),
      '',
    ].join('\r\n');
    writeFileSync(join(work, 'MsiLockPermissionsEx.idt'), idt);
    run('msibuild', ['outpost.msi', '-i', 'MsiLockPermissionsEx.idt'], { cwd: work, env });
    // wixl has no component conditions: the registry values are written only when both properties were given.
    for (const sql of FIXUPS_SQL) run('msibuild', ['outpost.msi', '-q', sql], { cwd: work, env });
    // The package code (summary "revision number") wixl draws at random, and its creation times, made stable.
    run('msibuild', ['outpost.msi', '-s', `Outpost Agent ${input.version}`, 'Outpost', 'x64;1033', packageCode], {
      cwd: work,
      env,
    });
    pinSummaryTimes(join(work, 'outpost.msi'), input.epoch, started - 5000, Date.now() + 5000);
    mkdirSync(input.outDir, { recursive: true });
    const out = join(input.outDir, `outpost-agent-${input.version}-x64.msi`);
    copyFileSync(join(work, 'outpost.msi'), `${out}.tmp`);
    renameSync(`${out}.tmp`, out);
    utimesSync(out, input.epoch, input.epoch);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
