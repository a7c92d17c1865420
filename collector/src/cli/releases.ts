/**
 * Release commands (docs/0011-releases.md). Offline, on the release machine: `outpost release keys init`,
 * `outpost release keys rotate-root`, `outpost release sign`. Against a collector (admin): `outpost releases
 * publish|list|assign|history`. The collector never receives a key: `publish` uploads only what `sign` wrote.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import {
  initReleaseKeys,
  type Lifetimes,
  OutpostError,
  releasePaths,
  resignSnapshotAndTimestamp,
  rotateRoot,
  signRelease,
} from '@outpost/shared';
import { type Command, InvalidArgumentError } from 'commander';
import { api } from './api.js';
import { FileBody } from './client.js';
import { commandTarget } from './credentials.js';
import { intIn } from './flags.js';
import { printJson, printRows, say, when } from './output.js';

type Row = Record<string, unknown>;
const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;
const days = intIn(1, 3650, 'a number of days');
const DAY = 86_400_000;

function lifetimes(o: { targetsDays?: number; snapshotDays?: number; timestampDays?: number }): Partial<Lifetimes> {
  return {
    ...(o.targetsDays ? { targets: o.targetsDays * DAY } : {}),
    ...(o.snapshotDays ? { snapshot: o.snapshotDays * DAY } : {}),
    ...(o.timestampDays ? { timestamp: o.timestampDays * DAY } : {}),
  };
}

/** The repository directory to publish: the keys directory's `repository/`, or a repository directory itself. */
function repositoryDir(dir: string): string {
  const inKeys = releasePaths(dir).repo;
  const repo = existsSync(join(inKeys, 'metadata')) ? inKeys : dir;
  if (!existsSync(join(repo, 'metadata', 'timestamp.json')))
    throw new OutpostError('OUTPOST_E_RELEASE_KEYS', {
      message: `${dir} holds no signed repository (metadata/timestamp.json); run \`outpost release sign\` first`,
    });
  return repo;
}

function* files(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile() && !e.name.endsWith('.tmp')) yield p;
  }
}

/** Adds `release …` (offline) and `releases …` (collector) commands. */
export function addReleaseCommands(program: Command): void {
  const release = program
    .command('release')
    .description('Offline release signing (run on the release machine, never on the collector).');
  addReleaseKeyCommands(release);
  addReleaseSigningCommands(release);
  const releases = program.command('releases').description('Signed agent releases on the collector (admin).');
  addPublishedReleaseCommands(releases);
  addAgentUpdateCommands(releases);
}

/** `release keys init|rotate-root` (offline): the TUF keys and the root agents trust. */
function addReleaseKeyCommands(release: Command): void {
  const keys = release.command('keys').description('Release signing keys.');
  keys
    .command('init')
    .description('Create the release keys (root 2-of-3, targets, snapshot, timestamp) and the root agents will trust.')
    .requiredOption('--out <dir>', 'new directory for the keys and the repository (keep it offline)')
    .option('--root-keys <n>', 'number of root keys', intIn(1, 9, 'from 1 to 9'), 3)
    .option('--root-threshold <n>', 'root signatures required', intIn(1, 9, 'from 1 to 9'), 2)
    .action(function (this: Command, o: { out: string; rootKeys: number; rootThreshold: number }) {
      if (o.rootThreshold > o.rootKeys) throw new InvalidArgumentError('--root-threshold cannot exceed --root-keys');
      const r = initReleaseKeys(o.out, { rootKeys: o.rootKeys, rootThreshold: o.rootThreshold });
      // Written down here, offline: installers pin the root by this hash, so a collector cannot swap in its own.
      const rootSha256 = createHash('sha256').update(readFileSync(r.rootFile)).digest('hex');
      if (isJson(this)) return printJson({ ...r, rootSha256 });
      say`created release keys in ${o.out} (root ${o.rootThreshold}-of-${o.rootKeys}, targets, snapshot, timestamp)\n`;
      say`agents trust ${r.rootFile}: give it to \`outpost-agent install --update-root FILE\`, or pin it by its SHA-256\n`;
      say`release root SHA-256 ${rootSha256} (\`install --update-root-sha256\`, OUTPOST_UPDATE_ROOT_SHA256, the MSI's UPDATE_ROOT_SHA256)\n`;
      say`keep ${join(o.out, 'keys')} offline; split the root keys among their holders\n`;
    });
  keys
    .command('rotate-root')
    .description('Replace root keys: a new root signed by the old threshold and the new keys (agents follow it).')
    .requiredOption('--keys <dir>', 'the keys directory')
    .requiredOption('--remove <keyid...>', 'root key ids to replace (each gets a new key)')
    .action(function (this: Command, o: { keys: string; remove: string[] }) {
      const r = rotateRoot(o.keys, { removeRootKeys: o.remove });
      if (isJson(this)) return printJson(r);
      say`wrote ${r.rootFile}; new root keys ${r.added.join(', ')}; publish the repository again\n`;
    });
}

/** `release sign|refresh` (offline): targets, snapshot and timestamp metadata. */
function addReleaseSigningCommands(release: Command): void {
  release
    .command('sign <packages-dir>')
    .description(
      'Sign the executables in a directory (outpost-agent-<platform>, as `pnpm package` writes) into the repository of --keys. Offline.',
    )
    .requiredOption('--keys <dir>', 'the keys directory (`release keys init`)')
    .option(
      '--release <version>',
      'the version they are (default: agentVersion in the directory manifest.json; not --version, which prints the CLI version)',
    )
    .option('--platform <platform...>', 'only these platforms (default: every executable found)')
    .option('--allow-rollback', 'sign this version as a permitted downgrade target', false)
    .option('--targets-days <n>', 'targets metadata lifetime (default 365)', days)
    .option('--snapshot-days <n>', 'snapshot lifetime (default 30)', days)
    .option('--timestamp-days <n>', 'timestamp lifetime (default 7): re-sign before it ends', days)
    .action(function (
      this: Command,
      dir: string,
      o: {
        keys: string;
        release?: string;
        platform?: string[];
        allowRollback: boolean;
        targetsDays?: number;
        snapshotDays?: number;
        timestampDays?: number;
      },
    ) {
      const r = signRelease({
        keysDir: o.keys,
        packagesDir: dir,
        ...(o.release ? { version: o.release } : {}),
        ...(o.platform ? { platforms: o.platform } : {}),
        allowRollback: o.allowRollback,
        lifetimes: lifetimes(o),
      });
      if (isJson(this)) return printJson(r);
      printRows(
        r.targets as unknown as Row[],
        [
          { key: 'version', title: 'version' },
          { key: 'platform', title: 'platform' },
          { key: 'length', title: 'bytes' },
          { key: 'sha256', title: 'sha256' },
        ],
        false,
      );
      say`signed targets version ${r.targetsVersion}; publish with \`outpost releases publish ${o.keys}\`\n`;
    });
  release
    .command('refresh')
    .description('Re-sign snapshot and timestamp (run before the timestamp expires, or agents stop updating). Offline.')
    .requiredOption('--keys <dir>', 'the keys directory')
    .option('--timestamp-days <n>', 'timestamp lifetime (default 7)', days)
    .action((o: { keys: string; timestampDays?: number }) => {
      resignSnapshotAndTimestamp(o.keys, { lifetimes: lifetimes(o) });
      say`re-signed snapshot and timestamp in ${o.keys}; publish again\n`;
    });
}

/** `releases publish|list`: the signed repository the collector serves. */
function addPublishedReleaseCommands(releases: Command): void {
  releases
    .command('publish <dir>')
    .description(
      'Upload a signed repository (the keys directory or its repository/) to the collector, which validates it.',
    )
    .action(async function (this: Command, dir: string) {
      const target = commandTarget(this);
      const repo = repositoryDir(dir);
      const { id } = await api(target, 'POST /api/v1/releases/uploads', { body: {} });
      let bytes = 0;
      for (const f of files(join(repo, 'metadata'))) {
        await api(target, 'PUT /api/v1/releases/uploads/:id/metadata/:name', {
          params: { id, name: relative(join(repo, 'metadata'), f) },
          body: new FileBody(f),
        });
      }
      for (const f of files(join(repo, 'targets'))) {
        const rel = relative(join(repo, 'targets'), f).split(sep).join('/');
        await api(target, 'PUT /api/v1/releases/uploads/:id/targets/*', {
          params: { id, '*': rel },
          body: new FileBody(f),
        });
        bytes += statSync(f).size;
      }
      const r = await api(target, 'POST /api/v1/releases/uploads/:id/commit', { params: { id }, body: {} });
      if (isJson(this)) return printJson(r);
      say`published (${(bytes / 1e6).toFixed(1)} MB of executables uploaded); the collector serves ${r.releases.length} signed executable(s)\n`;
    });
  releases
    .command('list')
    .description('Signed releases the collector serves, and its metadata versions and expiries.')
    .action(async function (this: Command) {
      const s = await api(commandTarget(this), 'GET /api/v1/releases');
      if (isJson(this)) return printJson(s);
      if (!s.published) return say`nothing published yet (\`outpost releases publish DIR\`)\n`;
      printRows(
        s.releases,
        [
          { key: 'version', title: 'version' },
          { key: 'platform', title: 'platform' },
          { key: 'length', title: 'bytes' },
          { key: 'rollbackAllowed', title: 'rollback target', format: (r) => (r.rollbackAllowed ? 'yes' : '') },
          { key: 'sha256', title: 'sha256' },
        ],
        false,
      );
      say`\n`;
      printRows(
        s.roles,
        [
          { key: 'role', title: 'metadata' },
          { key: 'version', title: 'version' },
          { key: 'expires', title: 'expires' },
        ],
        false,
      );
      if (s.rootSha256) say`\nrelease root SHA-256 ${s.rootSha256} (compare with \`release keys init\`'s)\n`;
    });
}

/** `releases assign|history`: one agent's update. */
function addAgentUpdateCommands(releases: Command): void {
  releases
    .command('assign <agent-id> <version>')
    .description('Assign a signed version to one agent (rollouts will do this in waves); the agent still verifies it.')
    .action(async function (this: Command, agentId: string, version: string) {
      const r = await api(commandTarget(this), 'POST /api/v1/agents/:id/update', {
        params: { id: agentId },
        body: { version },
      });
      if (isJson(this)) return printJson(r);
      say`assigned ${version} to ${agentId}${r.sent ? '' : ' (offline: it gets it at its next connection)'}\n`;
    });
  releases
    .command('history <agent-id>')
    .description("An agent's update steps: refused (with the reason), swapped, healthy, rolled back.")
    .action(async function (this: Command, agentId: string) {
      const r = await api(commandTarget(this), 'GET /api/v1/agents/:id/updates', { params: { id: agentId } });
      if (isJson(this)) return printJson(r.statuses);
      printRows(
        r.statuses,
        [
          { key: 'time', title: 'time', format: (s) => when(s.time) },
          { key: 'phase', title: 'phase' },
          { key: 'from', title: 'from' },
          { key: 'to', title: 'to' },
          { key: 'code', title: 'code' },
          { key: 'reason', title: 'reason' },
        ],
        false,
      );
    });
}
