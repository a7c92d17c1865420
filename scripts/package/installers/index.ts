/**
 * Installers around the agent executables: .deb and .rpm per Linux target, outpost-svc.exe and an .msi for
 * win-x64; macOS gets none (a .pkg needs pkgbuild, which only macOS has: the plain executable plus
 * `outpost-agent install` is the macOS path). A missing packaging tool skips that installer with a message saying
 * which Debian package provides it. Called by build.ts after the executables; also a command of its own, which takes
 * any executable (tests use a small dummy one):
 *   tsx scripts/package/installers/index.ts --executable FILE --platform linux-x64 --version 0.1.0 [--out DIR]
 * docs/0009-packaging.md, "Installers".
 */
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type InstallerInput, sha256File, ToolMissing } from './common.js';
import { buildDeb } from './deb.js';
import { buildMsi } from './msi.js';
import { buildRpm } from './rpm.js';
import { buildServiceHost } from './svc.js';

/** One built installer, as listed under `installers` in manifest.json. */
export interface InstallerFile {
  file: string;
  platform: string;
  kind: 'deb' | 'rpm' | 'msi' | 'service-host';
  size: number;
  sha256: string;
}

const log = (msg: string) => process.stderr.write(`package: ${msg}\n`);

/** Runs one builder; a missing tool is logged as a skip and yields nothing. */
function attempt(what: string, build: () => string): string | undefined {
  try {
    return build();
  } catch (err) {
    if (err instanceof ToolMissing) {
      log(`${what} skipped: ${err.message}`);
      return undefined;
    }
    throw err;
  }
}

function describe(file: string, platform: string, kind: InstallerFile['kind']): InstallerFile {
  return { file: basename(file), platform, kind, size: statSync(file).size, sha256: sha256File(file) };
}

/** Builds every installer that fits `input.platform`; returns what was built. */
export function buildInstallersFor(input: InstallerInput): InstallerFile[] {
  const out: InstallerFile[] = [];
  if (input.platform.startsWith('linux-')) {
    const deb = attempt(`${input.platform} .deb`, () => buildDeb(input));
    if (deb) out.push(describe(deb, input.platform, 'deb'));
    const rpm = attempt(`${input.platform} .rpm`, () => buildRpm(input));
    if (rpm) out.push(describe(rpm, input.platform, 'rpm'));
  } else if (input.platform === 'win-x64') {
    const svc = attempt('outpost-svc.exe', () => buildServiceHost(input.outDir, input.version, input.epoch));
    if (svc) {
      out.push(describe(svc, input.platform, 'service-host'));
      const msi = attempt('win-x64 .msi', () => buildMsi({ ...input, serviceHost: svc }));
      if (msi) out.push(describe(msi, input.platform, 'msi'));
    }
  } else if (input.platform.startsWith('darwin-')) {
    log(`${input.platform}: no installer (a .pkg needs macOS's pkgbuild); ship the executable and \`install\``);
  }
  return out;
}

/**
 * The build.ts hook: installers for every executable in manifest.json's `files`, recorded under `installers` in
 * the same manifest (so the collector can serve them beside the executables).
 */
export function buildInstallers(outDir: string, epoch: number): InstallerFile[] {
  const manifestFile = join(outDir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
    agentVersion: string;
    files: { file: string; platform: string }[];
    installers?: InstallerFile[];
  };
  const built = manifest.files.flatMap((f) =>
    buildInstallersFor({
      executable: join(outDir, f.file),
      version: manifest.agentVersion,
      platform: f.platform,
      outDir,
      epoch,
    }),
  );
  const kept = (manifest.installers ?? []).filter(
    (p) => !built.some((b) => b.file === p.file) && existsSync(join(outDir, p.file)),
  );
  manifest.installers = [...kept, ...built].sort((a, b) => a.file.localeCompare(b.file));
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  utimesSync(manifestFile, epoch, epoch);
  return built;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      executable: { type: 'string' },
      platform: { type: 'string' },
      version: { type: 'string' },
      out: { type: 'string', default: 'dist/packages' },
    },
  });
  if (!values.executable || !values.platform || !values.version) {
    process.stderr.write('usage: installers/index.ts --executable FILE --platform P --version V [--out DIR]\n');
    process.exit(2);
  }
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000));
  try {
    for (const f of buildInstallersFor({
      executable: values.executable,
      platform: values.platform,
      version: values.version,
      outDir: values.out,
      epoch,
    })) {
      process.stdout.write(`${f.sha256}  ${f.file}  ${(f.size / 1e6).toFixed(1)} MB\n`);
    }
  } catch (err) {
    process.stderr.write(`package: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
