/**
 * Job commands (docs/0010-jobs.md): `outpost jobs run|list|show|cancel|retry` and the script library
 * `outpost scripts add|list|show|sign|keygen`. `sign` and `keygen` run offline (no collector involved): the
 * organisation's private key never reaches the collector. Agent-written text (job output) is printed through the
 * output module's sanitiser like everything else.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OutpostError, scriptSigningPayload } from '@outpost/shared';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { writeFileAtomic } from '../files/atomic-write.js';
import { parseTag } from './agent-tags.js';
import { api } from './api.js';
import { commandTarget } from './credentials.js';
import { count, intIn } from './flags.js';
import { checkReadable, checkWritable, printJson, printRows, printText, say, when } from './output.js';

type Row = Record<string, unknown>;
const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'interrupted', 'refused', 'expired', 'cancelled']);

/** `30s`, `10m`, `12h`, `7d` as seconds. */
export function durationSec(v: string): number {
  const m = /^(\d+)([smhd])$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 30s, 10m, 12h or 7d');
  const n = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (n < 1 || n > 90 * 86_400) throw new InvalidArgumentError('expected a duration from 1s to 90d');
  return n;
}

/** `mon,wed 22:00 180` → a window (weekdays, local start, minutes). */
export function parseWindow(v: string): { days: number[]; start: string; minutes: number } {
  const m = /^([a-z,]+)\s+([01]\d|2[0-3]):([0-5]\d)\s+(\d{1,4})$/.exec(v.trim().toLowerCase());
  const days = (m?.[1] ?? '').split(',').map((d) => DAYS.indexOf(d.slice(0, 3)));
  const minutes = Number(m?.[4]);
  if (!m || days.some((d) => d < 0) || minutes < 1 || minutes > 1440)
    throw new InvalidArgumentError('expected "DAYS HH:MM MINUTES", e.g. "tue,thu 22:00 180" (site time zone)');
  return { days: [...new Set(days)], start: `${m[2]}:${m[3]}`, minutes };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

const TARGET_COLUMNS = [
  { key: 'hostname', title: 'machine' },
  { key: 'agentId', title: 'agent' },
  { key: 'state', title: 'state' },
  { key: 'exitCode', title: 'exit' },
  { key: 'durationMs', title: 'ms' },
  { key: 'rebootRequired', title: 'reboot', format: (r: Row) => (r.rebootRequired ? 'required' : '-') },
  { key: 'reason', title: 'reason' },
];

const countsText = (c: unknown) =>
  Object.entries((c ?? {}) as Record<string, number>)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '-';

function printJob(cmd: Command, job: Row, withOutput: boolean): void {
  if (isJson(cmd)) {
    printJson(job);
    return;
  }
  say`${job.id}  ${job.what}  ${job.status}  created ${when(job.createdAt)} by ${job.createdBy}  expires ${when(job.expiresAt)}\n`;
  say`machines: ${countsText(job.counts)}\n`;
  const targets = (job.targets ?? []) as Row[];
  printRows(targets, TARGET_COLUMNS, false);
  if (!withOutput) return;
  for (const t of targets) {
    if (!t.outputHead && !t.outputTail) continue;
    say`\n--- ${t.hostname} (${t.agentId}) output ---\n`;
    printText(String(t.outputHead));
    if (Number(t.truncatedBytes) > 0) say`\n[… ${t.truncatedBytes} bytes not kept …]\n`;
    printText(String(t.outputTail));
    say`\n`;
  }
}

/** Reads the organisation's Ed25519 private key (PEM), or OUTPOST_E_SIGNING_KEY_INVALID. */
export function readSigningKey(file: string): KeyObject {
  checkReadable(file);
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_SIGNING_KEY_INVALID', { cause, message: `${file} is not a PEM private key` });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new OutpostError('OUTPOST_E_SIGNING_KEY_INVALID', {
      message: `${file} is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`,
    });
  return key;
}

/** The signature `outpost scripts sign` prints: Ed25519 over the script's name and the SHA-256 of its body. */
export function signScript(key: KeyObject, name: string, body: string): { sha256: string; signature: string } {
  const sha256 = createHash('sha256').update(body, 'utf8').digest('hex');
  return { sha256, signature: sign(null, scriptSigningPayload(name, sha256), key).toString('base64url') };
}

/** The raw public key (base64url) an agent's `jobs.scriptPublicKey` takes. */
export function publicKeyOf(key: KeyObject): string {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' }) as { x?: string };
  return jwk.x ?? '';
}

/** A script's id from an id or a name (the client's own script of that name first, else the shared one). */
async function scriptId(cmd: Command, v: string, clientId: string | undefined): Promise<string> {
  if (/^sc_[0-9a-f]{24}$/.test(v)) return v;
  const { scripts } = await api(commandTarget(cmd), 'GET /api/v1/scripts');
  const named = scripts.filter((s) => s.name === v);
  const pick =
    named.find((s) => clientId !== undefined && s.clientId === clientId) ?? (named.length === 1 ? named[0] : undefined);
  if (!pick)
    throw new OutpostError(named.length ? 'OUTPOST_E_BAD_REQUEST' : 'OUTPOST_E_NOT_FOUND', {
      message: named.length
        ? `${named.length} scripts are named ${v}; give its id (outpost scripts list) or --client`
        : `No script named ${v}`,
    });
  return String(pick.id);
}

/** Adds `outpost jobs …` and `outpost scripts …`. */
export function addJobCommands(program: Command): void {
  const jobs = program.command('jobs').description('Jobs: scripts, OS patches and software on many machines.');
  addJobRunCommand(jobs);
  addJobFollowUpCommands(jobs);
  addScriptCommands(program);
}

/** `jobs run`: the job's kind, its targets, its window and its reboot policy, from flags. */
function addJobRunCommand(jobs: Command): void {
  jobs
    .command('run')
    .description('Run a job now or in a maintenance window (machines offline get it when they reconnect).')
    .option('--script <id|name>', 'a script of the library (its id, or its name when only one script has it)')
    .option('--version <n>', 'that script version (default: latest)', count)
    .option('--arg <value>', 'an argument for the script (repeatable)', collect)
    .option('--patch', 'apply pending OS updates', false)
    .option('--security', 'with --patch: security updates only (dnf, zypper)', false)
    .option('--install <package>', 'install a package (repeatable)', collect)
    .option('--remove <package>', 'remove a package (repeatable)', collect)
    .option('--agent <id>', 'target this agent (repeatable)', collect)
    .option('--site <id>', 'target the machines of a site')
    .option('--client <id>', 'target the machines of a client')
    .option('--tag <tag>', 'target the machines with this tag (narrowed by --site/--client)', parseTag)
    .option(
      '--security-pending-days <n>',
      'target machines with a security update pending for more than N days',
      intIn(0, 3650, 'days'),
    )
    .option('--window <spec>', 'maintenance window in the site time zone, e.g. "tue,thu 22:00 180"', parseWindow)
    .option('--not-before <time>', 'not before this ISO 8601 time')
    .option('--expires <duration>', 'machines that have not started it by then never run it', durationSec)
    .option('--timeout <duration>', 'kill the job past this long', durationSec)
    .addOption(
      new Option('--reboot <policy>', 'reboot afterwards').choices(['never', 'if-required', 'forced']).default('never'),
    )
    .option('--reboot-delay <minutes>', 'minutes before the reboot', intIn(0, 1440, 'minutes'), 5)
    .option('--reboot-message <text>', 'what users are told', '')
    .option('--wait', 'wait until every machine has an outcome', false)
    .action(async function (this: Command, o: Row) {
      let job = await api(commandTarget(this), 'POST /api/v1/jobs', { body: await jobRequest(this, o) });
      if (!isJson(this)) say`job ${job.id} created for ${job.targets.length} machine(s)\n`;
      if (o.wait) {
        for (;;) {
          if (job.targets.every((t) => FINAL.has(t.state))) break;
          await new Promise((r) => setTimeout(r, 1000));
          job = await api(commandTarget(this), 'GET /api/v1/jobs/:id', { params: { id: job.id } });
        }
      }
      printJob(this, job, false);
    });
}

/** The `POST /api/v1/jobs` body for `jobs run`'s flags (exactly one kind; a script by id or unique name). */
async function jobRequest(cmd: Command, o: Row): Promise<Row> {
  const kinds = [o.script, o.patch || undefined, o.install, o.remove].filter((k) => k !== undefined);
  if (kinds.length !== 1)
    throw new OutpostError('OUTPOST_E_BAD_REQUEST', {
      message: 'Give exactly one of --script, --patch, --install, --remove',
    });
  const script =
    typeof o.script === 'string' ? await scriptId(cmd, o.script, o.client as string | undefined) : undefined;
  const spec = script
    ? { kind: 'script', script, ...(o.version ? { version: o.version } : {}), args: o.arg ?? [] }
    : o.patch
      ? { kind: 'patch', scope: o.security ? 'security' : 'all' }
      : { kind: 'software', action: o.install ? 'install' : 'remove', packages: o.install ?? o.remove };
  let notBefore: number | undefined;
  if (typeof o.notBefore === 'string') {
    notBefore = Date.parse(o.notBefore);
    if (!Number.isFinite(notBefore))
      throw new OutpostError('OUTPOST_E_BAD_REQUEST', { message: '--not-before: expected an ISO 8601 time' });
  }
  return {
    spec,
    target: {
      ...(o.agent ? { agentIds: o.agent } : {}),
      ...(o.site ? { siteId: o.site } : {}),
      ...(o.client ? { clientId: o.client } : {}),
      ...(o.tag ? { tag: o.tag } : {}),
      ...(o.securityPendingDays !== undefined ? { securityPatchesOlderThanDays: o.securityPendingDays } : {}),
    },
    ...(o.window ? { window: o.window } : {}),
    ...(notBefore !== undefined ? { notBefore } : {}),
    ...(o.expires ? { expiresInSec: o.expires } : {}),
    ...(o.timeout ? { timeoutSec: o.timeout } : {}),
    reboot: { policy: o.reboot, delayMin: o.rebootDelay, message: o.rebootMessage },
  };
}

/** `jobs list|show|cancel|retry`: following jobs already created. */
function addJobFollowUpCommands(jobs: Command): void {
  jobs
    .command('list')
    .description('Jobs, newest first, with their machines per state.')
    .option('--limit <n>', 'at most this many', count, 100)
    .action(async function (this: Command, o: Row) {
      const r = await api(commandTarget(this), 'GET /api/v1/jobs', { query: { limit: o.limit } });
      printRows(
        r.jobs,
        [
          { key: 'id', title: 'id' },
          { key: 'what', title: 'what' },
          { key: 'status', title: 'status' },
          { key: 'counts', title: 'machines', format: (j: Row) => countsText(j.counts) },
          { key: 'createdBy', title: 'by' },
          { key: 'createdAt', title: 'created' },
        ],
        isJson(this),
      );
    });

  jobs
    .command('show <id>')
    .description('One job: per-machine state, exit code, reboot, reason (and output with --output).')
    .option('--output', 'print each machine’s captured output', false)
    .action(async function (this: Command, id: string, o: Row) {
      printJob(this, await api(commandTarget(this), 'GET /api/v1/jobs/:id', { params: { id } }), o.output === true);
    });

  jobs
    .command('cancel <id>')
    .description('Cancel what has not started yet (a machine already running it finishes and reports).')
    .action(async function (this: Command, id: string) {
      printJob(this, await api(commandTarget(this), 'POST /api/v1/jobs/:id/cancel', { params: { id } }), false);
    });

  jobs
    .command('retry <id>')
    .description(
      'Run the job again, as a new job, on the machines where it failed, timed out, was interrupted or expired.',
    )
    .action(async function (this: Command, id: string) {
      const job = await api(commandTarget(this), 'POST /api/v1/jobs/:id/retry', { params: { id } });
      if (!isJson(this)) say`job ${job.id} retries ${id}\n`;
      printJob(this, job, false);
    });
}

/** `scripts add|list|show|sign|keygen`: the versioned script library and its offline signing key. */
function addScriptCommands(program: Command): void {
  const scripts = program.command('scripts').description('The script library (versioned; optionally signed offline).');

  scripts
    .command('add <name> <file>')
    .description('Add a script, or its next version (same name, same client or shared library).')
    .option('--client <id>', 'a script for this client’s machines only (default: the shared library)')
    .addOption(new Option('--shell <shell>', 'interpreter').choices(['shell', 'powershell']).default('shell'))
    .option('--description <text>', 'what it does', '')
    .option('--signature <sig>', 'the signature `outpost scripts sign` printed for this file')
    .action(async function (this: Command, name: string, file: string, o: Row) {
      checkReadable(file);
      const r = await api(commandTarget(this), 'POST /api/v1/scripts', {
        body: {
          name,
          ...(o.client ? { clientId: o.client } : {}),
          shell: o.shell,
          description: o.description,
          body: readFileSync(file, 'utf8'),
          ...(o.signature ? { signature: o.signature } : {}),
        },
      });
      if (isJson(this)) printJson(r);
      else
        say`script ${r.name} (${r.id}) version ${r.version} added (sha256 ${r.sha256}${r.signed ? ', signed' : ''})\n`;
    });

  scripts
    .command('list')
    .description('The latest version of every script.')
    .action(async function (this: Command) {
      const r = await api(commandTarget(this), 'GET /api/v1/scripts');
      printRows(
        r.scripts,
        [
          { key: 'id', title: 'id' },
          { key: 'name', title: 'name' },
          { key: 'clientId', title: 'client', format: (s: Row) => s.clientId ?? 'shared' },
          { key: 'version', title: 'version' },
          { key: 'shell', title: 'shell' },
          { key: 'signed', title: 'signed', format: (s: Row) => (s.signed ? 'yes' : 'no') },
          { key: 'createdBy', title: 'by' },
          { key: 'description', title: 'description' },
        ],
        isJson(this),
      );
    });

  scripts
    .command('show <script>')
    .description('A script version with its body (by id, or by name when only one script has it).')
    .option('--version <n>', 'that version (default: latest)', count)
    .action(async function (this: Command, script: string, o: Row) {
      const id = await scriptId(this, script, undefined);
      const r = await api(commandTarget(this), 'GET /api/v1/scripts/:id', {
        params: { id },
        query: { version: o.version },
      });
      if (isJson(this)) return printJson(r);
      say`${r.name} (${r.id}) v${r.version} of ${r.versions.join(', ')}  ${r.shell}  sha256 ${r.sha256}  ${r.signed ? 'signed' : 'unsigned'}\n`;
      printText(r.body);
    });

  addScriptSigningCommands(scripts);
}

/** `scripts sign|keygen`: the organisation's offline Ed25519 key; runs here, never on the collector. */
function addScriptSigningCommands(scripts: Command): void {
  scripts
    .command('sign <file>')
    .description('Sign a script with the organisation’s offline key (runs here, never on the collector).')
    .requiredOption('--key <file>', 'the Ed25519 private key (PEM)')
    .requiredOption('--name <name>', 'the script name it will be added under')
    .action(async function (this: Command, file: string, o: Row) {
      const key = readSigningKey(String(o.key));
      checkReadable(file);
      const r = signScript(key, String(o.name), readFileSync(file, 'utf8'));
      if (isJson(this)) printJson({ name: o.name, ...r, publicKey: publicKeyOf(key) });
      else say`${r.signature}\n`;
    });

  scripts
    .command('keygen')
    .description('Create the organisation’s script-signing key (keep it offline); prints the public key agents take.')
    .requiredOption('--out <file>', 'where to write the private key (PEM, mode 600)')
    .action(async function (this: Command, o: Row) {
      const { privateKey } = generateKeyPairSync('ed25519');
      checkWritable(String(o.out));
      writeFileAtomic(String(o.out), privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
      if (isJson(this)) printJson({ publicKey: publicKeyOf(privateKey) });
      else say`wrote ${o.out}; agents' jobs.scriptPublicKey: ${publicKeyOf(privateKey)}\n`;
    });
}
